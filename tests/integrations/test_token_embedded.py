"""Embedded mode with access tokens: the middleware verifies them with the
service's in-process verifier (``ks.tokens.verifier``), FastAPI (``Embedded``)
and Flask (``SyncEmbedded``) alike."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.core.tokens import TokenPolicy
from keystead.integrations.embedded import Embedded, SyncEmbedded
from keystead.service import Keystead
from keystead.service.tokens import Issued, TokenRequest
from keystead.sync import SyncKeystead

from .kit import assert_refused, same_answer, serve_asgi, serve_wsgi
from .tokenkit import bearer, fastapi_app, flask_app, foreign, parts, tampered, unsigned

KEY_FIELDS: dict[str, Any] = {
    "owner_id": "acme",
    "permissions": ["reports.read"],
    "meta": {"tier": "gold"},
}


async def key_and_token(
    ks: Keystead, admin: Principal, request: TokenRequest | None = None
) -> tuple[str, str, str]:
    """A key of a new API (whose policy also allows the audience "billing"),
    and a token exchanged for it: (key, token, api id)."""
    api = await ks.apis.create(admin, name="docs", prefix="docs")
    await ks.tokens.set_policy(admin, api.id, TokenPolicy(audiences=("billing",)))
    created = await ks.keys.create(admin, api_id=api.id, **KEY_FIELDS)
    issued = await ks.tokens.exchange(created.plaintext, VerifyContext(), request or TokenRequest())
    assert isinstance(issued, Issued), issued
    return created.plaintext, issued.token, api.id


async def another_token(ks: Keystead, key: str, **fields: Any) -> str:
    issued = await ks.tokens.exchange(key, VerifyContext(), TokenRequest(**fields))
    assert isinstance(issued, Issued), issued
    return issued.token


async def test_a_token_and_its_key_reach_the_app_alike(vault: Keystead) -> None:
    admin = await vault.workspaces.local_operator()
    key, token, api_id = await key_and_token(vault, admin)
    async with serve_asgi(fastapi_app(Embedded(vault))) as app:
        by_key = await app.get("/reports", headers=bearer(key))
        by_token = await app.get("/reports", headers=bearer(token))
        again = await app.get("/whoami", headers=bearer(token))
    assert by_key.status_code == by_token.status_code == again.status_code == 200
    from_key, from_token = by_key.json()["identity"], by_token.json()["identity"]
    assert from_key.keys() == from_token.keys()
    for field in ("key_id", "owner_id", "api_id", "permissions", "plan"):
        assert from_key[field] == from_token[field], field
    assert from_token["api_id"] == api_id and from_token["name"] is None
    assert again.json()["authorization"] is None  # the token never reaches the app


async def test_refused_tokens_get_the_401_of_a_wrong_key(
    vault: Keystead, clock: ManualClock
) -> None:
    admin = await vault.workspaces.local_operator()
    key, token, _ = await key_and_token(vault, admin)
    billing = await another_token(vault, key, audience="billing")
    refused = [
        foreign(token),  # unknown kid
        tampered(token, permissions=["admin.everything"]),
        unsigned(token),  # alg none
        billing,  # an audience the guard does not name
        tampered(token, padding="x" * 9000),  # over 8 KiB
    ]
    async with serve_asgi(fastapi_app(Embedded(vault, audience=["billing"]))) as app:
        assert (await app.get("/whoami", headers=bearer(billing))).status_code == 200
        assert_refused(await app.get("/whoami", headers=bearer(token)), 401)
    async with serve_asgi(fastapi_app(Embedded(vault))) as app:
        wrong_key = await app.get("/whoami", headers=bearer("docs_wrong"))
        for forged in refused:
            response = await app.get("/whoami", headers=bearer(forged))
            assert_refused(response, 401)
            same_answer(response, wrong_key)
        assert (await app.get("/whoami", headers=bearer(token))).status_code == 200
        clock.advance(3600)  # past exp and its leeway
        assert_refused(await app.get("/whoami", headers=bearer(token)), 401)


async def test_a_token_lacking_the_route_permission_is_403(vault: Keystead) -> None:
    admin = await vault.workspaces.local_operator()
    key, _, _ = await key_and_token(vault, admin)
    narrow = await another_token(vault, key, permissions=[])
    async with serve_asgi(fastapi_app(Embedded(vault))) as app:
        assert (await app.get("/whoami", headers=bearer(narrow))).status_code == 200
        assert_refused(await app.get("/reports", headers=bearer(narrow)), 403)


async def test_a_revoked_key_loses_its_tokens_at_once(vault: Keystead) -> None:
    admin = await vault.workspaces.local_operator()
    _, token, _ = await key_and_token(vault, admin)
    async with serve_asgi(fastapi_app(Embedded(vault))) as app:
        assert (await app.get("/whoami", headers=bearer(token))).status_code == 200
        key_id = (await app.get("/whoami", headers=bearer(token))).json()["identity"]["key_id"]
        await vault.keys.revoke(admin, key_id)
        assert_refused(await app.get("/whoami", headers=bearer(token)), 401)


async def test_tokens_can_be_turned_off(vault: Keystead) -> None:
    admin = await vault.workspaces.local_operator()
    _, token, _ = await key_and_token(vault, admin)
    async with serve_asgi(fastapi_app(Embedded(vault, tokens=False))) as app:
        assert_refused(await app.get("/whoami", headers=bearer(token)), 401)


@pytest.fixture
def sync_vault(settings: Settings) -> Iterator[SyncKeystead]:
    ks = SyncKeystead.open(settings=settings, create_master_key=True)
    try:
        yield ks
    finally:
        ks.close()


def test_flask_takes_tokens_and_keys_alike(sync_vault: SyncKeystead) -> None:
    admin = sync_vault.workspaces.local_operator()
    api = sync_vault.apis.create(admin, name="docs", prefix="docs")
    created = sync_vault.keys.create(admin, api_id=api.id, **KEY_FIELDS)
    exchanging = sync_vault.service.tokens.exchange(
        created.plaintext, VerifyContext(), TokenRequest()
    )
    issued = asyncio.run_coroutine_threadsafe(exchanging, sync_vault.loop).result()
    assert isinstance(issued, Issued), issued
    guard = SyncEmbedded(sync_vault)
    with serve_wsgi(flask_app(guard)) as app:
        by_key = app.get("/reports", headers=bearer(created.plaintext))
        by_token = app.get("/reports", headers=bearer(issued.token))
        wrong_key = app.get("/reports", headers=bearer("docs_wrong"))
        for forged in (foreign(issued.token), unsigned(issued.token), tampered(issued.token)):
            response = app.get("/reports", headers=bearer(forged))
            assert_refused(response, 401)
            same_answer(response, wrong_key)
    guard.close()
    assert by_key.status_code == by_token.status_code == 200, by_token.text
    from_key, from_token = by_key.json()["identity"], by_token.json()["identity"]
    for field in ("key_id", "owner_id", "api_id", "permissions", "plan"):
        assert from_key[field] == from_token[field], field


async def test_tokens_signed_by_the_apis_own_key_are_checked_for_iss_and_times(
    vault: Keystead,
) -> None:
    """Claims a client cannot forge, signed here by the API's real key: a
    wrong issuer, not yet valid, expired. Each is the 401 of a wrong key."""
    admin = await vault.workspaces.local_operator()
    _, token, api_id = await key_and_token(vault, admin)
    api = await vault.apis.get(admin, api_id)
    signer = await vault.tokens.signing.signer(api, await vault.tokens.policy(admin, api_id))
    claims = parts(token)[1]
    now = int(vault.clock.now())
    forged = [
        signer.sign({**claims, "iss": "https://elsewhere.example/apis/" + api_id}),
        signer.sign({**claims, "nbf": now + 60, "iat": now + 60}),
        signer.sign({**claims, "iat": now - 900, "nbf": now - 900, "exp": now - 60}),
    ]
    resigned = signer.sign(claims)  # the same claims: accepted
    async with serve_asgi(fastapi_app(Embedded(vault))) as app:
        wrong_key = await app.get("/whoami", headers=bearer("docs_wrong"))
        for bad in forged:
            response = await app.get("/whoami", headers=bearer(bad))
            assert_refused(response, 401)
            same_answer(response, wrong_key)
        assert (await app.get("/whoami", headers=bearer(resigned))).status_code == 200
