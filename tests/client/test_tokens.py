"""The SDK's token calls against the real HTTP app: typed answers, the API key (not
the root key) on the exchange and the OAuth calls, RFC 6749 errors as ``ApiError``,
the revocation document's ETag round trip, and the async client alike."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from keystead.client import (
    ApiError,
    AsyncClient,
    Client,
    IssuedToken,
    OAuthToken,
    RevocationDocument,
    SigningKey,
)
from keystead.config import Settings
from keystead.http.app import create_app
from keystead.service import Keystead

from .conftest import BASE_URL, AsgiSyncTransport

PERMISSIONS = ["docs.read", "docs.write"]


@dataclass
class Setup:
    client: Client
    ks: Keystead
    runner: asyncio.Runner
    api_id: str
    key_id: str
    key: str


@pytest.fixture
def setup(settings: Settings) -> Iterator[Setup]:
    """A service with a master key, served in-process, an API and one of its keys."""
    with asyncio.Runner() as runner:
        ks = runner.run(Keystead.open(settings=settings, create_master_key=True))
        try:
            root_key = runner.run(ks.workspaces.init()).root_key.plaintext
            transport = AsgiSyncTransport(runner, httpx.ASGITransport(app=create_app(ks)))
            with Client(BASE_URL, root_key, transport=transport) as client:
                api = client.create_api("tokens")
                key = client.create_key(api["id"], permissions=PERMISSIONS)
                yield Setup(client, ks, runner, api["id"], key["id"], key["key"])
        finally:
            runner.run(ks.close())


def test_exchange_answers_a_typed_token(setup: Setup) -> None:
    issued = setup.client.exchange_token(setup.key, ttl_s=60, permissions=["docs.read"])
    assert isinstance(issued, IssuedToken)
    assert (issued.token_type, issued.expires_in, issued.permissions) == (
        "Bearer",
        60,
        ("docs.read",),
    )
    assert issued.token.count(".") == 2 and issued.jti.startswith("tok_")
    assert issued.token not in repr(issued) and setup.key not in repr(issued)
    assert issued.raw["kid"] == issued.kid


def test_exchange_sends_the_api_key_not_the_root_key(setup: Setup) -> None:
    with pytest.raises(ApiError) as refused:
        setup.client.exchange_token("ks_" + "A" * 40)
    assert refused.value.status == 401
    with pytest.raises(ApiError) as beyond:
        setup.client.exchange_token(setup.key, permissions=["admin.all"])
    assert beyond.value.status == 403


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_oauth_client_credentials(setup: Setup, method: str) -> None:
    token = setup.client.oauth_token(setup.key_id, setup.key, scope=["docs.write"], method=method)
    assert isinstance(token, OAuthToken)
    assert (token.token_type, token.scope, token.expires_in) == ("Bearer", "docs.write", 300)
    assert token.access_token not in repr(token)


def test_oauth_errors_are_api_errors_named_by_their_code(setup: Setup) -> None:
    with pytest.raises(ApiError) as wrong:
        setup.client.oauth_token(setup.key_id, setup.key + "x")
    assert (wrong.value.status, wrong.value.title) == (401, "invalid_client")
    assert wrong.value.body is not None and wrong.value.body["error"] == "invalid_client"
    with pytest.raises(ApiError) as scope:
        setup.client.oauth_token(setup.key_id, setup.key, scope="admin.all")
    assert (scope.value.status, scope.value.title) == (400, "invalid_scope")
    with pytest.raises(ValueError, match="client_secret_basic"):
        setup.client.oauth_token(setup.key_id, setup.key, method="private_key_jwt")


def test_introspect_and_revoke(setup: Setup) -> None:
    c = setup.client
    token = c.oauth_token(setup.key_id, setup.key).access_token
    answer = c.introspect_token(token)
    assert answer["active"] is True and answer["sub"] == setup.key_id
    assert c.introspect_token("not a token") == {"active": False}
    assert c.revoke_token(token, setup.key_id, setup.key) is None
    assert c.introspect_token(token) == {"active": False}
    assert c.revoke_token("unknown", setup.key_id, setup.key) is None


def test_introspect_as_an_api_key(setup: Setup) -> None:
    c = setup.client
    resource = c.create_key(setup.api_id, permissions=["tokens.introspect"])
    token = c.exchange_token(setup.key).token
    answer = c.introspect_token(token, client_id=resource["id"], client_secret=resource["key"])
    assert answer["active"] is True


def test_revoke_by_jti(setup: Setup) -> None:
    c = setup.client
    issued = c.exchange_token(setup.key)
    exp = setup.ks.clock.now() + issued.expires_in
    assert c.revoke_jti(setup.api_id, issued.jti, exp) is None
    assert c.introspect_token(issued.token) == {"active": False}


def test_jwks_and_metadata(setup: Setup) -> None:
    c = setup.client
    issued = c.exchange_token(setup.key)
    kids = {key["kid"] for key in c.jwks(setup.api_id)["keys"]}
    assert issued.kid in kids and kids <= {key["kid"] for key in c.jwks()["keys"]}
    meta = c.oauth_metadata(setup.api_id)
    assert meta["issuer"].endswith(f"/apis/{setup.api_id}")
    assert c.oauth_metadata()["grant_types_supported"] == ["client_credentials"]


def test_the_revocation_document_round_trips_its_etag(setup: Setup) -> None:
    c = setup.client
    issued = c.exchange_token(setup.key)
    document = c.revocation_document(setup.api_id)
    assert isinstance(document, RevocationDocument) and not document.not_modified
    assert document.text is not None and document.text.count(".") == 2
    assert document.etag is not None
    same = c.revocation_document(setup.api_id, if_none_match=document.etag)
    assert same.not_modified and same.text is None and same.etag == document.etag
    c.revoke_jti(setup.api_id, issued.jti, setup.ks.clock.now() + 3600)
    changed = c.revocation_document(setup.api_id, if_none_match=document.etag, since=0)
    assert not changed.not_modified and changed.etag != document.etag


def test_signing_keys_and_policy(setup: Setup) -> None:
    c = setup.client
    first = c.exchange_token(setup.key).kid
    rotated = c.rotate_signing_key(setup.api_id, algorithm="ES256")
    assert isinstance(rotated, SigningKey)
    assert (rotated.algorithm, rotated.signing) == ("ES256", True)
    keys = c.signing_keys(setup.api_id)
    assert {k.kid for k in keys} >= {first, rotated.kid}
    assert all(isinstance(k, SigningKey) for k in keys)
    policy = c.get_token_policy(setup.api_id)
    changed = c.set_token_policy(setup.api_id, {**policy, "default_ttl_s": 120})
    assert changed["default_ttl_s"] == 120
    assert c.exchange_token(setup.key).expires_in == 120
    with pytest.raises(ApiError) as crossed:
        c.set_token_policy(setup.api_id, {"min_ttl_s": 900, "default_ttl_s": 60})
    assert crossed.value.status == 422


def test_the_async_client_makes_the_same_calls(setup: Setup) -> None:
    async def scenario() -> None:
        transport = httpx.ASGITransport(app=create_app(setup.ks))
        async with AsyncClient(BASE_URL, None, transport=transport) as client:
            issued = await client.exchange_token(setup.key)
            document = await client.revocation_document(setup.api_id)
            same = await client.revocation_document(setup.api_id, if_none_match=document.etag)
            token = await client.oauth_token(setup.key_id, setup.key, method="client_secret_post")
        assert isinstance(issued, IssuedToken) and same.not_modified
        assert isinstance(token, OAuthToken)

    setup.runner.run(scenario())
