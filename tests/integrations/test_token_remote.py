"""Remote mode with access tokens: a FastAPI app (``Remote``) and a Flask app
(``SyncRemote``) in front of a real ``keystead serve``; tokens exchanged
through the server are verified offline (JWKS, revocation document)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keystead.client import AsyncClient, AsyncTokenVerifier, Client, TokenVerifier
from keystead.core.tokens import TokenRefused
from keystead.integrations.remote import Remote, SyncRemote
from serving import Server, serving

from .kit import assert_refused, same_answer, serve_asgi, serve_wsgi
from .tokenkit import (
    DEADLINE_S,
    bearer,
    exchange,
    fastapi_app,
    flask_app,
    foreign,
    parts,
    tampered,
    unsigned,
)


@dataclass
class World:
    server: Server
    api_id: str
    key: str
    key_id: str
    token: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home: Path = tmp_path_factory.mktemp("remote-tokens")
    with serving(home) as server, Client(server.url, server.root_key) as client:
        api = client.create_api("docs", prefix="docs")
        client.set_token_policy(api["id"], {"audiences": ["billing"]})
        created = client.create_key(
            api["id"], owner_id="acme", permissions=["reports.read"], meta={"tier": "gold"}
        )
        token = exchange(server.url, created["key"])
        yield World(server, api["id"], created["key"], created["id"], token)


async def test_a_token_and_its_key_reach_the_app_alike(world: World) -> None:
    async with AsyncClient(world.server.url, world.server.root_key) as client:
        guard = Remote(client)
        async with serve_asgi(fastapi_app(guard)) as app:
            by_key = await app.get("/reports", headers=bearer(world.key))
            by_token = await app.get("/reports", headers=bearer(world.token))
            again = await app.get("/whoami", headers=bearer(world.token))
        await guard.close()
    assert by_key.status_code == by_token.status_code == 200, by_token.text
    key_identity, token_identity = by_key.json()["identity"], by_token.json()["identity"]
    assert key_identity["key_id"] == token_identity["key_id"] == world.key_id
    for field in ("owner_id", "api_id", "permissions", "plan"):
        assert key_identity[field] == token_identity[field], field
    assert token_identity["name"] is None and token_identity["plan"] is None
    assert again.json()["authorization"] is None  # the token never reaches the app


async def test_refused_tokens_get_the_401_of_a_wrong_key(world: World) -> None:
    billing = exchange(world.server.url, world.key, audience="billing")
    refused = {
        "unknown kid": foreign(world.token),
        "tampered": tampered(world.token, permissions=["admin.everything"]),
        "alg none": unsigned(world.token),
        "wrong aud": billing,
        "oversized": tampered(world.token, padding="x" * 9000),
    }
    async with AsyncClient(world.server.url, world.server.root_key) as client:
        guard = Remote(client)
        async with serve_asgi(fastapi_app(guard)) as app:
            wrong_key = await app.get("/whoami", headers=bearer("docs_wrong"))
            for token in refused.values():
                response = await app.get("/whoami", headers=bearer(token))
                assert_refused(response, 401)
                same_answer(response, wrong_key)
            assert (await app.get("/whoami", headers=bearer(world.token))).status_code == 200
        billing_guard = Remote(client, audience="billing")
        async with serve_asgi(fastapi_app(billing_guard)) as app:
            assert (await app.get("/whoami", headers=bearer(billing))).status_code == 200
            assert_refused(await app.get("/whoami", headers=bearer(world.token)), 401)
        await guard.close()
        await billing_guard.close()


async def test_token_times_are_checked_with_the_leeway(world: World) -> None:
    async with AsyncClient(world.server.url, world.server.root_key) as client:
        verifier = AsyncTokenVerifier(client)
        async with serve_asgi(fastapi_app(Remote(client, token_verifier=verifier))) as app:
            assert (await app.get("/whoami", headers=bearer(world.token))).status_code == 200
            issued = time.time()
            verifier.book.wall = lambda: issued + 3600  # past exp and its leeway
            assert_refused(await app.get("/whoami", headers=bearer(world.token)), 401)
            verifier.book.wall = lambda: issued - 60  # before nbf, beyond the leeway
            assert_refused(await app.get("/whoami", headers=bearer(world.token)), 401)
        await verifier.aclose()


def test_flask_takes_tokens_and_keys_alike(world: World) -> None:
    with Client(world.server.url, world.server.root_key) as client:
        guard = SyncRemote(client)
        with serve_wsgi(flask_app(guard)) as app:
            by_key = app.get("/reports", headers=bearer(world.key))
            by_token = app.get("/reports", headers=bearer(world.token))
            wrong_key = app.get("/reports", headers=bearer("docs_wrong"))
            for token in (foreign(world.token), unsigned(world.token), tampered(world.token)):
                response = app.get("/reports", headers=bearer(token))
                assert_refused(response, 401)
                same_answer(response, wrong_key)
        guard.close()
    assert by_key.status_code == by_token.status_code == 200, by_token.text
    assert by_key.json()["identity"]["key_id"] == by_token.json()["identity"]["key_id"]
    assert by_key.json()["identity"]["permissions"] == by_token.json()["identity"]["permissions"]


def test_a_token_lacking_the_route_permission_is_403(world: World) -> None:
    narrow = exchange(world.server.url, world.key, permissions=[])
    with Client(world.server.url, world.server.root_key) as client:
        verifier = TokenVerifier(client)
        with serve_wsgi(flask_app(SyncRemote(client, token_verifier=verifier))) as app:
            assert app.get("/whoami", headers=bearer(narrow)).status_code == 200
            assert_refused(app.get("/reports", headers=bearer(narrow)), 403)
        verifier.close()


def test_tokens_of_an_api_the_server_does_not_know_are_refused(world: World) -> None:
    made_up = "api_00000000000000000000000000"
    with Client(world.server.url, world.server.root_key) as client:
        verifier = TokenVerifier(client)
        for _ in range(3):
            with pytest.raises(TokenRefused):
                verifier.verify(foreign(world.token, api_id=made_up))
        assert verifier.verify(world.token).key_id == world.key_id
        verifier.close()


async def test_a_stale_revocation_document_fails_closed(world: World) -> None:
    """A document not refreshed for ``max_stale_s`` (the server unreachable):
    the API's tokens get the 503 of an unreachable server until it is."""
    async with AsyncClient(world.server.url, world.server.root_key) as client:
        verifier = AsyncTokenVerifier(client, max_stale_s=30)
        guard = Remote(client, token_verifier=verifier)
        async with serve_asgi(fastapi_app(guard)) as app:
            assert (await app.get("/whoami", headers=bearer(world.token))).status_code == 200
            started = time.monotonic()
            verifier.book.monotonic = lambda: started + 31  # no refresh for 31 s
            assert_refused(await app.get("/whoami", headers=bearer(world.token)), 503)
            await verifier.refresh()  # the server answers again
            assert (await app.get("/whoami", headers=bearer(world.token))).status_code == 200
        await guard.close()


async def test_a_revoked_jti_is_refused_alone_within_a_second(world: World) -> None:
    doomed = exchange(world.server.url, world.key)
    claims = parts(doomed)[1]
    async with AsyncClient(world.server.url, world.server.root_key) as client:
        verifier = AsyncTokenVerifier(client, refresh_s=0.5)
        guard = Remote(client, token_verifier=verifier)
        async with serve_asgi(fastapi_app(guard)) as app:
            assert (await app.get("/whoami", headers=bearer(doomed))).status_code == 200
            await client.revoke_jti(world.api_id, claims["jti"], claims["exp"])
            started = time.monotonic()
            while (await app.get("/whoami", headers=bearer(doomed))).status_code == 200:
                assert time.monotonic() - started < DEADLINE_S, "the jti is still accepted"
                await asyncio.sleep(0.01)
            assert (await app.get("/whoami", headers=bearer(world.token))).status_code == 200
        await guard.close()


async def test_a_rotated_signing_key_is_fetched_on_its_first_token(world: World) -> None:
    async with AsyncClient(world.server.url, world.server.root_key) as client:
        guard = Remote(client)
        async with serve_asgi(fastapi_app(guard)) as app:
            assert (await app.get("/whoami", headers=bearer(world.token))).status_code == 200
            rotated = await client.rotate_signing_key(world.api_id)
            fresh = exchange(world.server.url, world.key)
            assert parts(fresh)[0]["kid"] == rotated.kid != parts(world.token)[0]["kid"]
            assert (await app.get("/whoami", headers=bearer(fresh))).status_code == 200
            assert (await app.get("/whoami", headers=bearer(world.token))).status_code == 200
            assert guard.tokens is not None
            await guard.tokens.refresh()  # a document signed by the new key
            assert (await app.get("/whoami", headers=bearer(fresh))).status_code == 200
        await guard.close()
