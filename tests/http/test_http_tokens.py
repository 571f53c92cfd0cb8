"""``POST /v1/tokens`` and the token administration routes over HTTP: the exchange
answers as RFC 9068 says and verifies against the published JWKS (with PyJWT, not
Keystead's own code); a refused key gets exactly the verify middleware's answer; bad
input is a 4xx problem; signing keys rotate with overlap; the policy round-trips."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, get_args

import jwt
import pytest
from httpkit import World, assert_problem, open_world
from tokenkit import PERMISSIONS, Client, client_of, exchange, segment

from keystead.core.models import VerifyContext
from keystead.core.tokens import ALGORITHMS
from keystead.http.token_schemas import Algorithm
from keystead.integrations.refusal import refusal
from keystead.service import Keystead


@pytest.fixture
async def world(vault: Keystead) -> AsyncIterator[World]:
    async with open_world(vault) as opened:
        yield opened


@pytest.fixture
async def client(world: World) -> Client:
    return await client_of(world)


def _decoded(token: str, jwks: dict[str, Any], algorithm: str = "EdDSA") -> dict[str, Any]:
    """The claims, after PyJWT checked the signature with the JWKS's key of the kid
    (exp aside: the service runs on a test clock)."""
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == kid)
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=[algorithm], options={"verify_exp": False, "verify_aud": False}
    )
    return claims


async def test_an_exchanged_token_verifies_against_the_api_jwks(
    world: World, client: Client
) -> None:
    response = await world.client.post(
        "/v1/tokens", json={"permissions": ["docs.read"]}, headers=client.bearer()
    )
    assert response.status_code == 201, response.text
    assert (response.headers["cache-control"], response.headers["pragma"]) == (
        "no-store",
        "no-cache",
    )
    body = response.json()
    assert set(body) == {"token", "token_type", "expires_in", "expires_at", "jti", "kid"} | {
        "permissions"
    }
    assert (body["token_type"], body["permissions"], body["expires_in"]) == (
        "Bearer",
        ["docs.read"],
        300,
    )
    header = segment(body["token"], 0)
    assert header == {"alg": "EdDSA", "typ": "at+jwt", "kid": body["kid"]}
    jwks = (await world.client.get(f"/apis/{client.api_id}/.well-known/jwks.json")).json()
    claims = _decoded(body["token"], jwks)
    assert claims["iss"] == f"{world.ks.settings.base_url()}/apis/{client.api_id}"
    assert (claims["sub"], claims["client_id"], claims["aud"]) == (
        client.key_id,
        client.key_id,
        client.api_id,
    )
    assert (claims["jti"], claims["permissions"], claims["scope"]) == (
        body["jti"],
        ["docs.read"],
        "docs.read",
    )
    assert claims["exp"] - claims["iat"] == 300 and claims["nbf"] == claims["iat"]
    assert "meta" not in claims


async def test_the_key_may_come_in_x_api_key(world: World, client: Client) -> None:
    response = await world.client.post("/v1/tokens", json={}, headers={"X-API-Key": client.key})
    assert response.status_code == 201, response.text
    assert sorted(response.json()["permissions"]) == sorted(PERMISSIONS)


async def test_a_root_key_is_no_api_key(world: World) -> None:
    response = await world.client.post("/v1/tokens", json={}, headers=world.auth())
    assert_problem(response, 401)


async def test_no_key_is_the_middlewares_401(world: World) -> None:
    response = await world.client.post("/v1/tokens", json={})
    body = assert_problem(response, 401)
    assert body["detail"] == "a valid API key is required"
    assert response.headers["www-authenticate"] == 'Bearer realm="keystead"'


async def _same_as_the_middleware(
    world: World, response: Any, key: str, context: VerifyContext
) -> None:
    verdict = await world.ks.verify(key, context, record=False)  # refused: spends nothing
    status, headers, body = refusal(verdict, world.ks.clock.now())
    assert response.status_code == status
    assert response.content == body
    answered = {name.lower(): value for name, value in response.headers.items()}
    for name, value in headers:
        assert answered[name.decode()] == value.decode(), name


async def test_a_revoked_key_gets_the_answer_verify_gives(world: World, client: Client) -> None:
    await world.ks.keys.revoke(world.operator, client.key_id)
    response = await world.client.post("/v1/tokens", json={}, headers=client.bearer())
    assert_problem(response, 401)
    await _same_as_the_middleware(world, response, client.key, VerifyContext())


async def test_a_rate_limited_key_gets_429_with_the_limit_headers(world: World) -> None:
    limited = await client_of(
        world, "limited", ratelimits=[{"name": "rps", "limit": 1, "duration_s": 60}]
    )
    await exchange(world, limited)
    response = await world.client.post("/v1/tokens", json={}, headers=limited.bearer())
    assert assert_problem(response, 429)["code"] == "RATE_LIMITED"
    assert "retry-after" in response.headers and "ratelimit" in response.headers
    await _same_as_the_middleware(world, response, limited.key, VerifyContext())


async def test_a_key_restricted_to_other_addresses_is_refused(world: World) -> None:
    fenced = await client_of(world, "fenced", restrictions={"ips": {"allow": ["192.0.2.0/24"]}})
    response = await world.client.post("/v1/tokens", json={}, headers=fenced.bearer())
    assert assert_problem(response, 403)["code"] == "FORBIDDEN"


async def test_more_permissions_than_the_key_holds_is_a_403(world: World, client: Client) -> None:
    response = await world.client.post(
        "/v1/tokens", json={"permissions": ["docs.read", "admin.all"]}, headers=client.bearer()
    )
    assert "admin.all" in assert_problem(response, 403)["detail"]


async def test_a_ttl_outside_the_policy_is_refused(world: World, client: Client) -> None:
    for ttl in (1, 3601):
        response = await world.client.post(
            "/v1/tokens", json={"ttl_s": ttl}, headers=client.bearer()
        )
        assert response.status_code in (400, 422), response.text
        assert_problem(response, response.status_code)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"{", 400),
        (b"[]", 422),
        (b'{"ttl_s": "long"}', 422),
        (b'{"ttl_s": 1e400}', 400),
        (b"\xff", 400),
        (b'{"extra": 1}', 422),
        (b'{"permissions": "docs.read"}', 422),
        (b'{"audience": "a\\u0000b"}', 422),
        (b'{"claims": {"x": "\\ud800"}}', 400),
        (b'{"permissions": [' + b",".join([b'"p.x"'] * 1001) + b"]}", 422),
    ],
)
async def test_bad_bodies_are_a_4xx_problem(
    world: World, client: Client, raw: bytes, status: int
) -> None:
    headers = {**client.bearer(), "Content-Type": "application/json"}
    response = await world.client.post("/v1/tokens", content=raw, headers=headers)
    assert_problem(response, status)


async def test_a_body_not_sent_as_json_is_a_415(world: World, client: Client) -> None:
    headers = {**client.bearer(), "Content-Type": "text/plain"}
    response = await world.client.post("/v1/tokens", content=b"ttl=5", headers=headers)
    assert_problem(response, 415)


async def test_signing_keys_rotate_with_overlap(world: World, client: Client) -> None:
    first = await exchange(world, client)
    url = f"/v1/apis/{client.api_id}/signing-keys"
    rotated = await world.client.post(f"{url}/rotate", json={}, headers=world.auth())
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["kid"] != first["kid"] and new["signing"] is True
    assert new["public_jwk"]["kid"] == new["kid"] and "d" not in new["public_jwk"]
    listed = (await world.client.get(url, headers=world.auth())).json()["items"]
    by_kid = {item["kid"]: item for item in listed}
    assert by_kid[first["kid"]]["signing"] is False
    assert by_kid[first["kid"]]["retired_at"] is not None
    second = await exchange(world, client)
    assert second["kid"] == new["kid"]
    jwks = (await world.client.get(f"/apis/{client.api_id}/.well-known/jwks.json")).json()
    assert {k["kid"] for k in jwks["keys"]} >= {first["kid"], new["kid"]}
    assert _decoded(first["token"], jwks)["jti"] == first["jti"]  # the old kid still verifies


async def test_a_rotation_may_change_the_algorithm(world: World, client: Client) -> None:
    url = f"/v1/apis/{client.api_id}/signing-keys/rotate"
    rotated = await world.client.post(url, json={"algorithm": "ES256"}, headers=world.auth())
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["public_jwk"]["crv"] == "P-256"
    token = (await exchange(world, client))["token"]
    jwks = (await world.client.get(f"/apis/{client.api_id}/.well-known/jwks.json")).json()
    assert segment(token, 0)["alg"] == "ES256"
    assert _decoded(token, jwks, "ES256")["sub"] == client.key_id
    refused = await world.client.post(url, json={"algorithm": "none"}, headers=world.auth())
    assert_problem(refused, 422)


async def test_the_policy_round_trips(world: World, client: Client) -> None:
    url = f"/v1/apis/{client.api_id}/token-policy"
    default = (await world.client.get(url, headers=world.auth())).json()
    assert (default["default_ttl_s"], default["max_ttl_s"], default["algorithm"]) == (
        300,
        3600,
        "EdDSA",
    )
    wanted = {"default_ttl_s": 60, "max_ttl_s": 120, "audiences": ["billing"]}
    put = await world.client.put(url, json={**wanted, "include_meta": True}, headers=world.auth())
    assert put.status_code == 200, put.text
    assert {name: put.json()[name] for name in wanted} == wanted
    assert (await world.client.get(url, headers=world.auth())).json() == put.json()
    token = (await exchange(world, client, audience="billing"))["token"]
    claims = segment(token, 1)
    assert (claims["aud"], claims["exp"] - claims["iat"], claims["meta"]) == ("billing", 60, {})


async def test_a_policy_whose_bounds_cross_is_refused(world: World, client: Client) -> None:
    url = f"/v1/apis/{client.api_id}/token-policy"
    crossed = {"min_ttl_s": 600, "default_ttl_s": 300, "max_ttl_s": 3600}
    assert_problem(await world.client.put(url, json=crossed, headers=world.auth()), 422)
    assert_problem(await world.client.put(url, json={"max_ttl_s": 0}, headers=world.auth()), 422)
    assert_problem(await world.client.put(url, json={"other": 1}, headers=world.auth()), 422)


async def test_a_revoked_jti_is_inactive(world: World, client: Client) -> None:
    issued = await exchange(world, client)
    exp = segment(issued["token"], 1)["exp"]
    body = {"api_id": client.api_id, "jti": issued["jti"], "expires_at": exp}
    response = await world.client.post("/v1/tokens/revocations", json=body, headers=world.auth())
    assert response.status_code == 204, response.text
    introspected = await world.client.post(
        "/oauth/introspect", data={"token": issued["token"]}, headers=world.auth()
    )
    assert introspected.json() == {"active": False}


def test_the_schema_lists_the_algorithms_the_core_signs_with() -> None:
    assert set(get_args(Algorithm)) == set(ALGORITHMS)


async def test_without_a_master_key_tokens_are_unavailable_not_a_500(keystead: Keystead) -> None:
    async with open_world(keystead) as bare:
        client = await client_of(bare, "unsealed")
        response = await bare.client.post("/v1/tokens", json={}, headers=client.bearer())
        assert "master key" in assert_problem(response, 503)["detail"]
        form = {"grant_type": "client_credentials"}
        oauth = await bare.client.post("/oauth/token", data=form, headers=client.basic())
        assert (oauth.status_code, oauth.json()["error"]) == (503, "temporarily_unavailable")
        url = f"/v1/apis/{client.api_id}/signing-keys/rotate"
        assert_problem(await bare.client.post(url, json={}, headers=bare.auth()), 503)
