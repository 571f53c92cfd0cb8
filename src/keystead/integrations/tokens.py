"""Access tokens (JWTs) in the middleware: what both modes share once a token
is verified, embedded (``ks.tokens.verifier``) or remote (the SDK's
``AsyncTokenVerifier`` / ``TokenVerifier``).

A credential that looks like a JWT (``core.tokens.looks_like_jwt``) is a token.
The app gets the same ``Identity`` as for a key: ``key_id`` is the token's
``sub`` (the key it was exchanged for), ``owner_id``, ``api_id``,
``permissions`` and ``meta`` come from its claims, ``name`` and ``plan`` are
None. A refused token gets the 401 of any unusable key, byte for byte. The
key's own rate limits, quotas and restrictions were applied when the token
was issued; a token request does not count them again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from keystead.core.answers import LimitLike
from keystead.core.models import Code, VerifyContext
from keystead.integrations.guard import Check
from keystead.integrations.identity import Identity
from keystead.integrations.refusal import insufficient_permissions

Audience = str | Sequence[str] | None
"""Accepted ``aud`` values; None: the API id of the token's issuer."""


class VerifiedLike(Protocol):
    """A verified token as either verifier answers it."""

    @property
    def claims(self) -> Mapping[str, Any]: ...
    @property
    def key_id(self) -> str: ...
    @property
    def api_id(self) -> str: ...
    @property
    def owner_id(self) -> str | None: ...
    @property
    def permissions(self) -> Sequence[str]: ...
    @property
    def meta(self) -> Mapping[str, Any] | None: ...
    @property
    def jti(self) -> str: ...


class TokenOutcome(NamedTuple):
    """The outcome of a served token request (an ``Outcome``, as a ``Verdict``
    is for a key): valid, no limits counted."""

    key_id: str
    api_id: str
    code: str = Code.VALID
    reason: str | None = None
    limits: tuple[LimitLike, ...] = ()
    retry_after: float | None = None
    shed: bool = False


_NO_META: Mapping[str, Any] = {}
_IDENTITIES: dict[str, Identity] = {}
_IDENTITIES_KEPT = 4096


def token_identity(token: VerifiedLike) -> Identity:
    """The identity of a verified token; one per token (by ``jti``: only the
    server signs tokens, and it never reuses one), so a repeated token costs
    no new object."""
    known = _IDENTITIES.get(token.jti)
    if known is not None:
        return known
    if len(_IDENTITIES) >= _IDENTITIES_KEPT:
        _IDENTITIES.clear()
    identity = Identity(
        token.key_id,
        token.owner_id,
        token.api_id,
        None,
        tuple(token.permissions),
        token.meta or _NO_META,
        None,
    )
    _IDENTITIES[token.jti] = identity
    return identity


def own_audience(token: VerifiedLike) -> bool:
    """Whether the token's ``aud`` is its API's id: the audience a guard
    accepts when it names none."""
    aud = token.claims.get("aud")
    api_id = token.api_id
    return aud == api_id or (type(aud) is list and api_id in aud)


def token_check(token: VerifiedLike, context: VerifyContext) -> Check:
    """The check of a verified token for a request: served, or 403 when its
    permissions do not satisfy the route's query (as for a key)."""
    identity = token_identity(token)
    query = context.permissions
    if query is not None and not identity.allows(query):
        return Check(None, context, None, insufficient_permissions(query), [])
    return Check(TokenOutcome(identity.key_id, identity.api_id), context, identity, None, [])


__all__ = [
    "Audience",
    "TokenOutcome",
    "VerifiedLike",
    "own_audience",
    "token_check",
    "token_identity",
]
