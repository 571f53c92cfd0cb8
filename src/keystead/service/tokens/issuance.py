"""Issuing access tokens: an exchange is a verification of the key (restrictions,
limits, credits, usage and refusal codes exactly verify's), then the API's token
policy (enabled, TTL, audience, claims), the permission subset, and a signature.

A token never outlives its key: its lifetime is cut to the key's expiry (a key
rotated with a grace period expires at the grace's end)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence

from keystead.core.answers import status_for
from keystead.core.models import Code, VerifyContext
from keystead.core.tokens import access_token_claims, new_jti
from keystead.core.tokens.policy import InvalidTokenRequest
from keystead.core.verify import Verdict, VerifiableKey
from keystead.errors import Forbidden, ValidationError
from keystead.service.context import ServiceContext
from keystead.service.tokens._types import Issued, OAuthError, TokenRequest
from keystead.service.tokens.denials import api_of, policy_of
from keystead.service.tokens.signing import SigningKeys

Verify = Callable[..., Awaitable[Verdict]]
"""``Keystead.verify``: an exchange is a verification (limits, usage, refusals)."""
Release = Callable[[Sequence[str]], Awaitable[None]]
"""``Keystead.release``: hands back the concurrency slots an exchange took."""
_INVALID_CLIENT = "the client could not be authenticated"


class TokensDisabled(Forbidden):
    """The API's token policy has ``enabled: false``."""


class Issuance:
    def __init__(
        self,
        ctx: ServiceContext,
        signing: SigningKeys,
        issuer: Callable[[str], str],
        verify: Verify,
        release: Release,
    ) -> None:
        self._ctx = ctx
        self._signing = signing
        self._issuer = issuer
        self._verify = verify
        self._release = release

    async def exchange(
        self, key: str, context: VerifyContext | None, request: TokenRequest
    ) -> Issued | Verdict:
        verdict = await self._verify(key, context)
        if not verdict.valid or verdict.record is None:
            return verdict
        try:
            return await self.issue(verdict.record, request)
        finally:
            await self.release(verdict)

    async def client_credentials(
        self,
        client_id: str,
        client_secret: str,
        scope: Sequence[str] | None,
        context: VerifyContext | None,
    ) -> Issued:
        verdict, record = await self.authenticate(client_id, client_secret, context)
        try:
            return await self.issue(record, TokenRequest(permissions=scope))
        except TokensDisabled as exc:
            raise OAuthError("unauthorized_client", exc.detail) from None
        except Forbidden as exc:
            raise OAuthError("invalid_scope", exc.detail) from None
        except InvalidTokenRequest as exc:
            error = "invalid_scope" if exc.field == "permissions" else "invalid_request"
            raise OAuthError(error, exc.detail) from None
        finally:
            await self.release(verdict)

    async def authenticate(
        self, client_id: str, client_secret: str, context: VerifyContext | None
    ) -> tuple[Verdict, VerifiableKey]:
        """Verify the key given as the client secret (a verification like any
        other: usage, limits), then that ``client_id`` is its id (in constant
        time). Raises ``OAuthError``: invalid_client (401) for a key refused or
        not the client's; temporarily_unavailable (429/503) for one refused by a
        limit, with the verdict for the rate-limit headers."""
        verdict, record = await self.authenticate_key(client_secret, context)
        if not hmac.compare_digest(record.key.id.encode(), client_id.encode()):
            await self.release(verdict)
            raise OAuthError("invalid_client", _INVALID_CLIENT)
        return verdict, record

    async def authenticate_key(
        self, key: str, context: VerifyContext | None
    ) -> tuple[Verdict, VerifiableKey]:
        """A valid verdict of ``key`` and its record, or ``OAuthError`` as
        ``authenticate`` raises."""
        verdict = await self._verify(key, context)
        status = status_for(verdict)
        if status in (429, 503):
            error = OAuthError("temporarily_unavailable", "a limit refused the client", status)
            error.verdict = verdict
            raise error
        record = verdict.record
        if verdict.code is not Code.VALID or record is None:
            raise OAuthError("invalid_client", _INVALID_CLIENT)
        return verdict, record

    async def release(self, verdict: Verdict) -> None:
        """Give back the concurrency slots ``verdict`` took (an OAuth call holds none
        past its answer)."""
        if verdict.leases:
            await self._release(verdict.leases)

    async def issue(self, record: VerifiableKey, request: TokenRequest) -> Issued:
        """A signed token for a verified key; ``InvalidTokenRequest`` (400) for what
        the policy refuses, ``Forbidden`` (403) for permissions the key lacks."""
        key = record.key
        api = await api_of(self._ctx, key.workspace_id, key.api_id)
        policy = policy_of(api)
        if api is None or not policy.enabled:
            raise TokensDisabled("this API does not issue tokens")
        ttl = policy.check_ttl(request.ttl_s)
        audience = policy.check_audience(request.audience, api.id)
        extra = policy.extra_claims(request.claims)
        permissions = _granted(record, request.permissions)
        now = self._ctx.clock.now()
        if record.expires_at is not None:
            ttl = max(1, min(ttl, int(record.expires_at - now)))
        signer = await self._signing.signer(api, policy)
        jti = new_jti()
        claims = access_token_claims(
            issuer=self._issuer(api.id),
            key_id=key.id,
            api_id=api.id,
            owner_id=key.owner_id,
            audience=audience,
            permissions=permissions,
            issued_at=now,
            ttl_s=ttl,
            jti=jti,
            meta=key.meta if policy.include_meta else None,
            extra=extra,
        )
        token = signer.sign(claims)
        expires_at = float(claims["exp"])
        return Issued(
            token=token,
            jti=jti,
            kid=signer.kid,
            expires_at=expires_at,
            expires_in=int(expires_at - int(now)),
            permissions=tuple(permissions),
            api_id=api.id,
            key_id=key.id,
        )


def _granted(record: VerifiableKey, requested: Sequence[str] | None) -> list[str]:
    """The requested permissions, each covered by the key's grants (wildcards
    included); all the key holds when none are asked for."""
    if requested is None:
        return list(record.grants.grants)
    if isinstance(requested, str) or not all(isinstance(p, str) for p in requested):
        raise InvalidTokenRequest("permissions is a list of strings", field="permissions")
    wanted = list(dict.fromkeys(requested))
    try:
        missing = [p for p in wanted if not record.grants.covers(p)]
    except ValidationError as exc:
        raise InvalidTokenRequest(exc.detail, field="permissions") from None
    if missing:
        raise Forbidden(f"the key does not hold: {', '.join(missing[:10])}")
    return wanted


__all__ = ["Issuance", "Release", "TokensDisabled", "Verify"]
