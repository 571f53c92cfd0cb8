"""What the token service hands out and takes in: plain values, no behaviour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from keystead.core.tokens.verified_token import VerifiedToken
from keystead.core.verify import Verdict
from keystead.errors import ConfigurationError, KeysteadError

OAUTH_ERRORS = (
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
)


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """What a client asks of an exchange; every field optional (the policy's defaults)."""

    ttl_s: int | None = None
    audience: str | None = None
    permissions: Sequence[str] | None = None
    """None: every permission the key holds."""
    claims: Mapping[str, Any] | None = None
    """Extra claims; only names the API's policy allows (``allowed_claims``)."""


@dataclass(frozen=True, slots=True)
class Issued:
    """A token just signed. ``token`` is shown to the caller once and never stored."""

    token: str
    jti: str
    kid: str
    expires_at: float
    expires_in: int
    permissions: tuple[str, ...]
    api_id: str
    key_id: str

    def __repr__(self) -> str:
        return f"Issued(jti={self.jti!r}, kid={self.kid!r}, key_id={self.key_id!r})"


@dataclass(frozen=True, slots=True)
class SigningKeyInfo:
    """A signing key as an operator sees it (public parts only)."""

    kid: str
    algorithm: str
    created_at: float
    retired_at: float | None
    publish_until: float | None
    signing: bool
    public_jwk: Mapping[str, Any] | None = field(default=None)


class NoMasterKey(ConfigurationError):
    """Tokens need the master key (it seals the signing keys): 503 with a clear
    message rather than a 500."""

    status = 503
    title = "Tokens unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.public_detail = detail


class OAuthError(KeysteadError):
    """An OAuth 2.0 error answer (RFC 6749 §5.2): ``error`` is the protocol's code;
    ``invalid_client`` is 401 (with ``WWW-Authenticate``), the others 400."""

    def __init__(self, error: str, description: str, status: int | None = None) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status if status is not None else (401 if error == "invalid_client" else 400)
        self.title = error
        self.verdict: Verdict | None = None
        """The verification that refused a client by a limit: its rate-limit
        headers and ``Retry-After`` belong on the answer."""

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


__all__ = [
    "OAUTH_ERRORS",
    "Issued",
    "NoMasterKey",
    "OAuthError",
    "SigningKeyInfo",
    "TokenRequest",
    "VerifiedToken",
]
