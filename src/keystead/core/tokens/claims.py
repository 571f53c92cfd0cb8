"""Claims of access tokens (RFC 9068) and their time, issuer and audience checks.

Times are NumericDates in whole seconds. ``LEEWAY_S`` absorbs clock skew
between the issuer and a verifier: a token stays accepted up to 5 s past its
``exp``, and is accepted up to 5 s before its ``nbf`` or ``iat``.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeGuard

from keystead.core.tokens.errors import TokenRefused
from keystead.errors import ValidationError

LEEWAY_S = 5
JTI_PREFIX = "tok_"
JTI_BYTES = 18
"""144 random bits per token id."""
REGISTERED_CLAIMS: frozenset[str] = frozenset(
    {
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "client_id",
        "owner_id",
        "permissions",
        "scope",
        "api_id",
        "meta",
        # Names of RFC 7519, RFC 8693 and RFC 9068 a request must not set either.
        "typ",
        "auth_time",
        "acr",
        "amr",
        "act",
        "may_act",
        "cnf",
        "groups",
        "roles",
        "entitlements",
    }
)
"""Claim names a token request's extra claims may never use."""


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
    """The claims of an access token issued to key ``key_id`` at ``issued_at``.

    ``iat`` is ``issued_at`` rounded down, so a key denial's ``not_before``
    (the change time) refuses every token issued before it; ``nbf`` = ``iat``
    and ``exp`` = ``iat + ttl_s``. ``extra`` names must not be registered ones
    (``ValidationError`` on field "claims"); the policy decides which it allows.
    """
    iat = int(issued_at)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": key_id,
        "aud": audience,
        "exp": iat + ttl_s,
        "iat": iat,
        "nbf": iat,
        "jti": jti,
        "client_id": key_id,
    }
    if owner_id is not None:
        claims["owner_id"] = owner_id
    claims["api_id"] = api_id
    claims["permissions"] = list(permissions)
    claims["scope"] = " ".join(permissions)
    if meta is not None:
        claims["meta"] = dict(meta)
    if extra:
        taken = sorted(name for name in extra if name in REGISTERED_CLAIMS)
        if taken:
            raise ValidationError(f"registered claims cannot be set: {taken}", field="claims")
        claims.update(extra)
    return claims


def _number(value: object) -> TypeGuard[float]:
    kind = type(value)
    return kind is int or kind is float


def _accepted(value: object, accepted: str | Collection[str]) -> bool:
    if isinstance(accepted, str):
        return value == accepted
    return type(value) is str and value in accepted


def check_claims(
    claims: Mapping[str, Any],
    *,
    now: float,
    issuer: str | Collection[str] | None,
    audience: str | Collection[str] | None,
    leeway_s: float = LEEWAY_S,
) -> None:
    """Refuse claims out of their time window, or not for this issuer/audience.

    ``exp`` and ``iat`` are required numbers (``iat`` is what key denials are
    compared with); ``nbf``, when present, a number. ``issuer``/``audience``
    ``None`` skip that check; a collection accepts any of its members. The
    token's ``aud`` may be a string or a list of strings (RFC 7519 §4.1.3): one
    accepted member is enough. Raises ``TokenRefused``: "claims" (a missing or
    ill-typed claim), "expired", "not_yet_valid", "issuer", "audience".
    """
    exp = claims.get("exp")
    iat = claims.get("iat")
    if not _number(exp) or not _number(iat):
        raise TokenRefused("claims", "exp and iat are required numbers")
    if now >= exp + leeway_s:
        raise TokenRefused("expired", "the token has expired")
    if iat > now + leeway_s:
        raise TokenRefused("not_yet_valid", "the token is issued in the future")
    nbf = claims.get("nbf")
    if nbf is not None:
        if not _number(nbf):
            raise TokenRefused("claims", "nbf is a number")
        if nbf > now + leeway_s:
            raise TokenRefused("not_yet_valid", "the token is not valid yet")
    if issuer is not None and not _accepted(claims.get("iss"), issuer):
        raise TokenRefused("issuer", "the token is not from the expected issuer")
    if audience is not None:
        aud = claims.get("aud")
        if type(aud) is list:
            if not any(_accepted(member, audience) for member in aud):
                raise TokenRefused("audience", "the token is not for this audience")
        elif not _accepted(aud, audience):
            raise TokenRefused("audience", "the token is not for this audience")


def new_jti() -> str:
    """A fresh token id: ``tok_`` and 144 random bits, base64url."""
    random = base64.urlsafe_b64encode(secrets.token_bytes(JTI_BYTES)).decode("ascii")
    return JTI_PREFIX + random


__all__ = [
    "JTI_PREFIX",
    "LEEWAY_S",
    "REGISTERED_CLAIMS",
    "access_token_claims",
    "check_claims",
    "new_jti",
]
