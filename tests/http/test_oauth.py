"""``/oauth/token``, ``/oauth/introspect`` and ``/oauth/revoke`` over HTTP: RFC 6749
section 5.1 answers and section 5.2 errors, both client authentication methods,
introspection's exact ``{"active": false}``, and revocation's 200 for anything."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from urllib.parse import quote_plus

import pytest
from httpkit import World, open_world
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenkit import FORM, PERMISSIONS, Client, client_of, exchange, oauth_error, segment

from keystead.http.oauth import MAX_FORM_BYTES
from keystead.service import Keystead

GRANT = {"grant_type": "client_credentials"}


@pytest.fixture
async def world(vault: Keystead) -> AsyncIterator[World]:
    async with open_world(vault) as opened:
        yield opened


@pytest.fixture
async def client(world: World) -> Client:
    return await client_of(world)


def _ok(response: object) -> dict[str, object]:
    assert getattr(response, "status_code", None) == 200, getattr(response, "text", "")
    headers = response.headers  # type: ignore[attr-defined]
    assert (headers["cache-control"], headers["pragma"]) == ("no-store", "no-cache")
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    return body


async def test_client_secret_basic(world: World, client: Client) -> None:
    response = await world.client.post("/oauth/token", data=GRANT, headers=client.basic())
    body = _ok(response)
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 300)
    assert sorted(str(body["scope"]).split()) == sorted(PERMISSIONS)
    claims = segment(str(body["access_token"]), 1)
    assert (claims["sub"], claims["client_id"]) == (client.key_id, client.key_id)


async def test_client_secret_post_with_a_scope(world: World, client: Client) -> None:
    form = {**GRANT, "client_id": client.key_id, "client_secret": client.key}
    response = await world.client.post("/oauth/token", data={**form, "scope": "docs.read"})
    body = _ok(response)
    assert body["scope"] == "docs.read"
    assert segment(str(body["access_token"]), 1)["permissions"] == ["docs.read"]


async def test_basic_credentials_are_form_decoded(world: World, client: Client) -> None:
    """Section 2.3.1: a client may percent-encode every character of both parts."""
    pair = "".join(f"%{b:02X}" for b in client.key_id.encode()) + ":" + client.key
    headers = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    _ok(await world.client.post("/oauth/token", data=GRANT, headers=headers))


async def test_both_methods_at_once_is_invalid_request(world: World, client: Client) -> None:
    form = {**GRANT, "client_id": client.key_id, "client_secret": client.key}
    response = await world.client.post("/oauth/token", data=form, headers=client.basic())
    oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:x").decode()},
        {"Authorization": "Bearer something"},
    ],
)
async def test_no_usable_client_is_invalid_client(world: World, headers: dict[str, str]) -> None:
    response = await world.client.post("/oauth/token", data=GRANT, headers=headers)
    oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"] == 'Basic realm="keystead"'


async def test_a_wrong_or_revoked_key_is_invalid_client(world: World, client: Client) -> None:
    wrong = client.basic(secret=client.key[:-2] + "xx")
    oauth_error(
        await world.client.post("/oauth/token", data=GRANT, headers=wrong), 401, "invalid_client"
    )
    other = await client_of(world, "other")
    mixed = client.basic(client_id=other.key_id)  # the id of another key with this secret
    oauth_error(
        await world.client.post("/oauth/token", data=GRANT, headers=mixed), 401, "invalid_client"
    )
    await world.ks.keys.revoke(world.operator, client.key_id)
    revoked = await world.client.post("/oauth/token", data=GRANT, headers=client.basic())
    oauth_error(revoked, 401, "invalid_client")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": ""}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "x"}, "unsupported_grant_type"),
        ({**GRANT, "scope": "admin.all"}, "invalid_scope"),
        ({**GRANT, "scope": "docs.read  docs.write"}, "invalid_scope"),
        ({**GRANT, "scope": 'docs."read'}, "invalid_scope"),
    ],
)
async def test_bad_requests_are_400(
    world: World, client: Client, form: dict[str, str], error: str
) -> None:
    response = await world.client.post("/oauth/token", data=form, headers=client.basic())
    oauth_error(response, 400, error)


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b'{"grant_type": "client_credentials"}', "application/json"),
        (b"grant_type=client_credentials", "text/plain"),
        (b"grant_type=client_credentials&grant_type=client_credentials", FORM["Content-Type"]),
        (b"grant_type=client_credentials&scope=%ff", FORM["Content-Type"]),
        (b"grant_type=\xff", FORM["Content-Type"]),
        (b"a=1&" * 40 + b"grant_type=client_credentials", FORM["Content-Type"]),
        (b"grant_type=client_credentials&x=" + b"y" * MAX_FORM_BYTES, FORM["Content-Type"]),
        (b"grant_type=client_credentials&scope=a%00b", FORM["Content-Type"]),
    ],
)
async def test_malformed_bodies_are_invalid_request(
    world: World, client: Client, raw: bytes, content_type: str
) -> None:
    headers = {**client.basic(), "Content-Type": content_type}
    response = await world.client.post("/oauth/token", content=raw, headers=headers)
    oauth_error(response, 400, "invalid_request")


async def test_a_chunked_oversized_body_is_refused(world: World, client: Client) -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield b"grant_type=client_credentials&x="
        for _ in range(8):
            yield b"y" * 4096

    headers = {**client.basic(), **FORM}
    response = await world.client.post("/oauth/token", content=stream(), headers=headers)
    oauth_error(response, 400, "invalid_request")


async def test_introspection_with_a_root_key(world: World, client: Client) -> None:
    issued = await exchange(world, client)
    response = await world.client.post(
        "/oauth/introspect", data={"token": issued["token"]}, headers=world.auth()
    )
    body = _ok(response)
    assert body["active"] is True
    assert (body["sub"], body["client_id"], body["jti"]) == (
        client.key_id,
        client.key_id,
        issued["jti"],
    )
    assert body["token_type"] == "Bearer" or "token_type" not in body


@pytest.mark.parametrize(
    "token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x" * 9000, "ks_" + "A" * 40]
)
async def test_introspection_of_garbage_is_exactly_inactive(
    world: World, client: Client, token: str
) -> None:
    response = await world.client.post(
        "/oauth/introspect", data={"token": token}, headers=world.auth()
    )
    assert _ok(response) == {"active": False}


async def test_introspection_after_the_key_is_revoked(world: World, client: Client) -> None:
    issued = await exchange(world, client)
    await world.ks.keys.revoke(world.operator, client.key_id)
    response = await world.client.post(
        "/oauth/introspect", data={"token": issued["token"]}, headers=world.auth()
    )
    assert _ok(response) == {"active": False}


async def test_introspection_needs_its_permission(world: World, client: Client) -> None:
    issued = {"token": (await exchange(world, client))["token"]}
    oauth_error(await world.client.post("/oauth/introspect", data=issued), 401, "invalid_client")
    bad = world.auth("ksroot_garbage")
    response = await world.client.post("/oauth/introspect", data=issued, headers=bad)
    oauth_error(response, 401, "invalid_client")
    lacking = world.auth(await world.root_key_without("tokens.introspect"))
    response = await world.client.post("/oauth/introspect", data=issued, headers=lacking)
    assert response.status_code == 403, response.text
    # an API key is an introspecting client when it holds tokens.introspect
    response = await world.client.post("/oauth/introspect", data=issued, headers=client.basic())
    oauth_error(response, 401, "invalid_client")
    # of its own API's tokens only
    resource = await world.key(client.api_id, permissions=["tokens.introspect"])
    own = Client(client.api_id, resource["id"], resource["key"])
    response = await world.client.post("/oauth/introspect", data=issued, headers=own.basic())
    assert _ok(response)["active"] is True
    stranger = await client_of(world, "elsewhere", permissions=["tokens.introspect"])
    response = await world.client.post("/oauth/introspect", data=issued, headers=stranger.basic())
    assert _ok(response) == {"active": False}


async def test_introspection_needs_a_token(world: World) -> None:
    response = await world.client.post("/oauth/introspect", data={}, headers=world.auth())
    oauth_error(response, 400, "invalid_request")


async def test_revocation_answers_200_for_anything(world: World, client: Client) -> None:
    for token in (
        "unknown",
        "a.b.c",
        (await exchange(world, await client_of(world, "x")))["token"],
    ):
        response = await world.client.post(
            "/oauth/revoke", data={"token": token}, headers=client.basic()
        )
        assert response.status_code == 200, response.text


async def test_revoking_a_token_makes_it_inactive(world: World, client: Client) -> None:
    issued = await exchange(world, client)
    form = {"token": issued["token"], "token_type_hint": "access_token"}
    response = await world.client.post("/oauth/revoke", data=form, headers=client.basic())
    assert response.status_code == 200, response.text
    introspected = await world.client.post(
        "/oauth/introspect", data={"token": issued["token"]}, headers=world.auth()
    )
    assert introspected.json() == {"active": False}
    key = await world.ks.keys.get(world.operator, client.key_id)
    assert key.revoked_at is None  # the token only, not its key


async def test_revocation_needs_a_client(world: World, client: Client) -> None:
    issued = await exchange(world, client)
    response = await world.client.post("/oauth/revoke", data={"token": issued["token"]})
    oauth_error(response, 401, "invalid_client")
    response = await world.client.post("/oauth/revoke", data={}, headers=client.basic())
    oauth_error(response, 400, "invalid_request")
    introspected = await world.client.post(
        "/oauth/introspect", data={"token": issued["token"]}, headers=world.auth()
    )
    assert introspected.json()["active"] is True


async def test_a_rate_limited_client_is_told_when_to_retry(world: World) -> None:
    limited = await client_of(
        world, "limited", ratelimits=[{"name": "rps", "limit": 1, "duration_s": 60}]
    )
    _ok(await world.client.post("/oauth/token", data=GRANT, headers=limited.basic()))
    response = await world.client.post("/oauth/token", data=GRANT, headers=limited.basic())
    oauth_error(response, 429, "temporarily_unavailable")
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["ratelimit"].startswith('"rps";r=0')


def _forms() -> list[tuple[bytes, str]]:
    """Form bodies and Authorization values drawn up front (the calls are async)."""
    names = st.sampled_from(["grant_type", "scope", "client_id", "client_secret", "token", "x"])
    values = st.text(max_size=30) | st.sampled_from(["client_credentials", "docs.read", "%ff"])
    pairs = st.lists(st.tuples(names, values), max_size=6)
    auth = st.sampled_from(["", "Basic ", "Bearer x"]) | st.text(max_size=20).map(
        lambda t: "Basic " + base64.b64encode(t.encode()).decode()
    )
    drawn: list[tuple[bytes, str]] = []

    @settings(max_examples=150, database=None, deadline=None)
    @given(pairs | st.binary(max_size=60), auth)
    def draw(body: list[tuple[str, str]] | bytes, authorization: str) -> None:
        if isinstance(body, bytes):
            drawn.append((body, authorization))
        else:
            raw = "&".join(f"{quote_plus(n)}={quote_plus(v)}" for n, v in body)
            drawn.append((raw.encode(), authorization))

    draw()
    return drawn


async def test_generated_forms_never_give_a_500(world: World, client: Client) -> None:
    for raw, authorization in _forms():
        headers = {**FORM, **({"Authorization": authorization} if authorization else {})}
        for path in ("/oauth/token", "/oauth/introspect", "/oauth/revoke"):
            response = await world.client.post(path, content=raw, headers=headers)
            assert response.status_code < 500, (path, raw, response.text)
            if response.status_code >= 400:
                assert set(response.json()) <= {"error", "error_description"}, response.text
