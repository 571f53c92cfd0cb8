"""OAuth 2.0 through the service: client credentials (RFC 6749 §4.4), introspection
(RFC 7662) and revocation (RFC 7009), with their errors."""

from __future__ import annotations

import pytest
from token_support import given

from keystead.core.authz import Principal
from keystead.core.models import VerifyContext
from keystead.core.permissions import GrantSet
from keystead.errors import Forbidden
from keystead.service import Keystead
from keystead.service.tokens import OAuthError, TokenRequest


async def test_client_credentials_issue_a_token(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    issued = await s.ks.tokens.client_credentials(s.key_id, s.key, ["orders.read"], VerifyContext())
    assert issued.permissions == ("orders.read",) and issued.key_id == s.key_id
    verified = await s.ks.tokens.verifier.verify_async(issued.token)
    assert verified.claims["scope"] == "orders.read"
    everything = await s.ks.tokens.client_credentials(s.key_id, s.key, None)
    assert set(everything.permissions) == {"invoices.*", "orders.read", "orders.write"}


async def test_a_client_that_does_not_authenticate_is_invalid_client(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    other = await s.ks.keys.create(s.root, api_id=s.api.id)
    for client_id, secret in (
        (s.key_id, "garbage"),
        (other.key.id, s.key),  # the key of another client
        (s.key_id[:-1], s.key),
        (s.key_id, other.plaintext),
    ):
        with pytest.raises(OAuthError) as refused:
            await s.ks.tokens.client_credentials(client_id, secret, None)
        assert (refused.value.error, refused.value.status) == ("invalid_client", 401)
        assert s.key not in refused.value.description
    await s.ks.keys.revoke(s.root, s.key_id)
    with pytest.raises(OAuthError) as refused:
        await s.ks.tokens.client_credentials(s.key_id, s.key, None)
    assert refused.value.error == "invalid_client"


async def test_a_scope_beyond_the_key_is_invalid_scope(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    for scope in (["admin.all"], ["orders.read", "bad permission"]):
        with pytest.raises(OAuthError) as refused:
            await s.ks.tokens.client_credentials(s.key_id, s.key, scope)
        assert (refused.value.error, refused.value.status) == ("invalid_scope", 400)


async def test_a_limited_client_waits(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    limited = await s.ks.keys.create(
        s.root, api_id=s.api.id, ratelimits=[{"name": "rpm", "limit": 1, "duration_s": 60}]
    )
    await s.ks.tokens.client_credentials(limited.key.id, limited.plaintext, None)
    with pytest.raises(OAuthError) as refused:
        await s.ks.tokens.client_credentials(limited.key.id, limited.plaintext, None)
    assert refused.value.status == 429 and refused.value.verdict is not None
    assert refused.value.verdict.retry_after is not None


async def test_introspection_of_an_active_token(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    issued = await s.ks.tokens.client_credentials(s.key_id, s.key, ["orders.read"])
    body = await s.ks.tokens.introspect(issued.token, s.root)
    claims = (await s.ks.tokens.verifier.verify_async(issued.token)).claims
    assert body == {
        "active": True,
        "scope": "orders.read",
        "client_id": s.key_id,
        "sub": s.key_id,
        "aud": s.api.id,
        "iss": claims["iss"],
        "exp": claims["exp"],
        "iat": claims["iat"],
        "nbf": claims["nbf"],
        "jti": issued.jti,
        "token_type": "Bearer",
        "permissions": ["orders.read"],
        "owner_id": "user_1",
    }


async def test_anything_not_active_is_exactly_inactive(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    issued = await s.ks.tokens.client_credentials(s.key_id, s.key, None)
    head, body, signature = issued.token.split(".")
    tampered = f"{head}.{body[:-2]}AA.{signature}"
    for token in ("", "garbage", "a.b.c", tampered, "eyJ" + "x" * 9000):
        assert await s.ks.tokens.introspect(token, s.root) == {"active": False}
    s.ks.clock.advance(301 + 5)  # type: ignore[attr-defined]
    assert await s.ks.tokens.introspect(issued.token, s.root) == {"active": False}


async def test_introspection_needs_the_permission(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    issued = await s.ks.tokens.client_credentials(s.key_id, s.key, None)
    reader = Principal(s.root.workspace_id, "rk_x", GrantSet(["keys.read"]))
    with pytest.raises(Forbidden):
        await s.ks.tokens.introspect(issued.token, reader)
    elsewhere = Principal("ws_other", "rk_y", GrantSet(["tokens.introspect"]))
    assert await s.ks.tokens.introspect(issued.token, elsewhere) == {"active": False}
    narrowed = Principal(
        s.root.workspace_id, "rk_z", GrantSet(["tokens.introspect"]), frozenset({"api_other"})
    )
    assert await s.ks.tokens.introspect(issued.token, narrowed) == {"active": False}
    grants = GrantSet(["tokens.introspect"])
    other_owner = Principal(s.root.workspace_id, "rk_o", grants, owner_id="user_2")
    assert await s.ks.tokens.introspect(issued.token, other_owner) == {"active": False}
    its_owner = Principal(s.root.workspace_id, "rk_p", grants, owner_id="user_1")
    assert (await s.ks.tokens.introspect(issued.token, its_owner))["active"] is True
    with pytest.raises(OAuthError) as refused:
        await s.ks.tokens.introspect(issued.token, s.key)  # lacks tokens.introspect
    assert refused.value.error == "invalid_client"
    checker = await s.ks.keys.create(s.root, api_id=s.api.id, permissions=["tokens.introspect"])
    assert (await s.ks.tokens.introspect(issued.token, checker.plaintext))["active"] is True
    as_client = (checker.key.id, checker.plaintext)
    assert (await s.ks.tokens.introspect(issued.token, as_client))["active"] is True
    with pytest.raises(OAuthError):
        await s.ks.tokens.introspect(issued.token, (s.key_id, checker.plaintext))


async def test_revocation_by_the_client(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    issued = await s.ks.tokens.client_credentials(s.key_id, s.key, None)
    other = await s.ks.tokens.exchange(s.key, VerifyContext(), TokenRequest())
    await s.ks.tokens.revoke_token("garbage", s.key_id, s.key)  # silently nothing
    stranger = await s.ks.keys.create(s.root, api_id=s.api.id)
    await s.ks.tokens.revoke_token(issued.token, stranger.key.id, stranger.plaintext)
    assert (await s.ks.tokens.introspect(issued.token, s.root))["active"] is True
    await s.ks.tokens.revoke_token(issued.token, s.key_id, s.key)
    assert await s.ks.tokens.introspect(issued.token, s.root) == {"active": False}
    assert not isinstance(other, type(None))
    assert (await s.ks.tokens.introspect(other.token, s.root))["active"] is True  # type: ignore[union-attr]
    with pytest.raises(OAuthError) as refused:
        await s.ks.tokens.revoke_token(issued.token, s.key_id, "garbage")
    assert refused.value.error == "invalid_client"


async def test_revocation_by_jti_is_audited(vault: Keystead) -> None:
    setup = await given(vault)
    s = setup
    issued = await s.ks.tokens.client_credentials(s.key_id, s.key, None)
    await s.ks.tokens.revoke_jti(s.root, s.api.id, issued.jti, issued.expires_at)
    assert await s.ks.tokens.introspect(issued.token, s.root) == {"active": False}
    entries = await s.ks.audit.list(s.root, action="token.revoke")
    assert [e.record.target_id for e in entries.items] == [issued.jti]
