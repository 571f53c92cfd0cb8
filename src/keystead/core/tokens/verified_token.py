"""What a verified access token names: one shape for the service's verifier and the
SDK's, read strictly from claims whose signature, times and issuer were checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keystead.core.tokens.errors import TokenRefused


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose signature, times, issuer, audience and revocation were checked."""

    claims: Mapping[str, Any]
    key_id: str
    api_id: str
    owner_id: str | None
    permissions: tuple[str, ...]
    meta: Mapping[str, Any] | None
    jti: str
    expires_at: float
    audience: str


def accepted(claims: Mapping[str, Any], api_id: str) -> VerifiedToken:
    """The fields of verified claims; a claim of the wrong type refuses the token
    (``TokenRefused("claims")``) rather than reaching the caller half-read."""
    sub, jti, exp, aud = claims.get("sub"), claims.get("jti"), claims.get("exp"), claims.get("aud")
    owner, permissions, meta = (
        claims.get("owner_id"),
        claims.get("permissions", ()),
        claims.get("meta"),
    )
    if (
        not isinstance(sub, str)
        or not isinstance(jti, str)
        or isinstance(exp, bool)
        or not isinstance(exp, int | float)
        or not isinstance(aud, str)
        or not (owner is None or isinstance(owner, str))
        or not isinstance(permissions, list | tuple)
        or not all(isinstance(item, str) for item in permissions)
        or not (meta is None or isinstance(meta, dict))
    ):
        raise TokenRefused("claims")
    return VerifiedToken(claims, sub, api_id, owner, tuple(permissions), meta, jti, float(exp), aud)


__all__ = ["VerifiedToken", "accepted"]
