"""``Keystead.tokens``: short-lived access tokens (RFC 9068 JWTs) for API keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from keystead.core.authz import Principal
from keystead.core.models import VerifyContext
from keystead.core.tokens import TokenPolicy
from keystead.core.verify import Verdict
from keystead.service.context import ServiceContext
from keystead.service.master_keys import MasterKeys
from keystead.service.tokens._types import Issued, SigningKeyInfo, TokenRequest
from keystead.service.tokens.verifier import InProcessTokenVerifier

Verify = Callable[..., Awaitable[Verdict]]
"""``Keystead.verify``: an exchange is a verification (limits, usage, refusals)."""
Release = Callable[[Sequence[str]], Awaitable[None]]
"""``Keystead.release``: hands back the concurrency slots an exchange took."""


class TokenService:
    def __init__(
        self, ctx: ServiceContext, master_keys: MasterKeys, verify: Verify, release: Release
    ) -> None:
        self._ctx = ctx
        self._master_keys = master_keys
        self._verify = verify
        self._release = release
        self.verifier = InProcessTokenVerifier()

    def issuer(self, api_id: str) -> str:
        raise NotImplementedError

    async def exchange(
        self, key: str, context: VerifyContext, request: TokenRequest
    ) -> Issued | Verdict:
        """A token for ``key``; the refusal ``Verdict`` (as verify answers it) otherwise.
        Raises ``ValidationError`` (400) for a bad request, ``Forbidden`` (403) for
        permissions the key does not hold."""
        raise NotImplementedError

    async def client_credentials(
        self,
        client_id: str,
        client_secret: str,
        scope: Sequence[str] | None,
        context: VerifyContext,
    ) -> Issued:
        """RFC 6749 §4.4; raises ``OAuthError``."""
        raise NotImplementedError

    async def introspect(self, token: str, caller: Principal | str) -> dict[str, Any]:
        """RFC 7662; exactly ``{"active": False}`` for any token that does not verify."""
        raise NotImplementedError

    async def revoke_token(self, token: str, client_id: str, client_secret: str) -> None:
        """RFC 7009; raises ``OAuthError`` for a client that does not authenticate."""
        raise NotImplementedError

    async def revoke_jti(
        self, principal: Principal, api_id: str, jti: str, expires_at: float
    ) -> None:
        raise NotImplementedError

    async def jwks(self, api_id: str | None) -> tuple[dict[str, Any], str]:
        raise NotImplementedError

    async def revocation_document(self, api_id: str, since: int | None) -> tuple[str, str]:
        raise NotImplementedError

    async def signing_keys(self, principal: Principal, api_id: str) -> list[SigningKeyInfo]:
        raise NotImplementedError

    async def rotate_signing_key(
        self, principal: Principal, api_id: str, algorithm: str | None = None
    ) -> SigningKeyInfo:
        raise NotImplementedError

    async def policy(self, principal: Principal, api_id: str) -> TokenPolicy:
        raise NotImplementedError

    async def set_policy(
        self, principal: Principal, api_id: str, policy: TokenPolicy
    ) -> TokenPolicy:
        raise NotImplementedError

    async def upkeep(self) -> None:
        raise NotImplementedError


__all__ = ["TokenService"]
