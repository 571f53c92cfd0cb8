"""Introspection (RFC 7662) and revocation (RFC 7009) of access tokens.

Both judge a token with the in-process verifier: one that does not verify (unknown,
expired, revoked, altered, garbage) is exactly ``{"active": False}`` to
introspection and silently ignored by revocation."""

from __future__ import annotations

from typing import Any

from keystead.core.authz import Principal
from keystead.core.tokens import LEEWAY_S, TokenRefused
from keystead.service.context import ServiceContext
from keystead.service.tokens._types import OAuthError, VerifiedToken
from keystead.service.tokens.issuance import Issuance
from keystead.service.tokens.verifier import InProcessTokenVerifier
from keystead.store.tokens import DenialRecord

INACTIVE: dict[str, Any] = {"active": False}
PERMISSION = "tokens.introspect"
_CLAIMS = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti")


class TokenOAuth:
    def __init__(
        self, ctx: ServiceContext, issuance: Issuance, verifier: InProcessTokenVerifier
    ) -> None:
        self._ctx = ctx
        self._issuance = issuance
        self._verifier = verifier

    async def introspect(
        self, token: str, caller: Principal | str | tuple[str, str]
    ) -> dict[str, Any]:
        """``caller`` is a root key's principal with ``tokens.introspect`` (tokens of
        the APIs it sees), or an API key holding that permission (tokens of its own
        API): the key itself (Bearer) or ``(client_id, client_secret)``. A caller
        without it: ``Forbidden`` / ``OAuthError``."""
        owner_scope: Principal | None = None
        if isinstance(caller, Principal):
            caller.require(PERMISSION)
            workspace_id, api_ids = caller.workspace_id, caller.api_ids
            owner_scope = caller
        else:
            if isinstance(caller, str):
                verdict, record = await self._issuance.authenticate_key(caller, None)
            else:
                verdict, record = await self._issuance.authenticate(caller[0], caller[1], None)
            await self._issuance.release(verdict)
            if not record.grants.covers(PERMISSION):
                raise OAuthError(
                    "invalid_client", f"the client lacks the '{PERMISSION}' permission"
                )
            key = record.key
            workspace_id, api_ids = key.workspace_id, frozenset({key.api_id})
        found = await self._judge(token)
        if found is None or (api_ids is not None and found.api_id not in api_ids):
            return dict(INACTIVE)
        if self._verifier.workspace_of(found.api_id) != workspace_id:
            return dict(INACTIVE)
        if owner_scope is not None and not owner_scope.sees_owner(found.owner_id):
            return dict(INACTIVE)  # a root key narrowed to one owner sees its tokens only
        return _body(found)

    async def revoke_token(self, token: str, client_id: str, client_secret: str) -> None:
        """Deny the token if it verifies and was issued to the client (RFC 7009
        §2.1); anything else is silently nothing. Raises ``OAuthError`` for a
        client that does not authenticate."""
        verdict, record = await self._issuance.authenticate(client_id, client_secret, None)
        await self._issuance.release(verdict)
        found = await self._judge(token)
        key = record.key
        if found is None or found.api_id != key.api_id or found.key_id != key.id:
            return
        await self.deny(key.workspace_id, found.api_id, found.jti, found.expires_at)

    async def deny(self, workspace_id: str, api_id: str, jti: str, expires_at: float) -> None:
        now = self._ctx.clock.now()
        denial = DenialRecord(workspace_id, api_id, "jti", jti, now, expires_at + LEEWAY_S)
        await self._ctx.store.put_denials([denial])

    async def _judge(self, token: str) -> VerifiedToken | None:
        if not isinstance(token, str) or not token:
            return None
        try:
            return await self._verifier.verify_async(token)
        except TokenRefused:
            return None


def _body(found: VerifiedToken) -> dict[str, Any]:
    claims = found.claims
    body: dict[str, Any] = {"active": True}
    for name in _CLAIMS:
        if name in claims:
            body[name] = claims[name]
    body["token_type"] = "Bearer"  # noqa: S105 - RFC 7662's token type, not a secret
    body["permissions"] = list(found.permissions)
    if found.owner_id is not None:
        body["owner_id"] = found.owner_id
    return body


__all__ = ["INACTIVE", "PERMISSION", "TokenOAuth"]
