"""Claims of access tokens (RFC 9068) and their time, issuer and audience checks."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

LEEWAY_S = 5


def access_token_claims(
    *,
    issuer: str,
    key_id: str,
    api_id: str,
    owner_id: str | None,
    audience: str,
    permissions: Sequence[str],
    issued_at: float,
    ttl_s: int,
    jti: str,
    meta: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    raise NotImplementedError


def check_claims(
    claims: Mapping[str, Any],
    *,
    now: float,
    issuer: str | Collection[str] | None,
    audience: str | Collection[str] | None,
    leeway_s: float = LEEWAY_S,
) -> None:
    raise NotImplementedError


def new_jti() -> str:
    raise NotImplementedError


__all__ = ["LEEWAY_S", "access_token_claims", "check_claims", "new_jti"]
