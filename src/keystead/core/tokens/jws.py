"""JWS compact serialization (RFC 7515): parsing and verifying tokens.

``verified`` is the one way to accept a token: it refuses anything over
``max_bytes`` before decoding, takes the algorithm from the key the ``kid``
names (never from the header: a header ``alg`` other than the key's, ``none``
included, is refused), checks the explicit type (RFC 8725 §3.11, so a
revocation document is never taken for an access token) and the signature, and
only then decodes the claims.

Parsing is strict: three base64url segments without padding, each in its one
canonical form (spare bits zero, so a token's text has one spelling per
signature); a JSON object header with a string ``alg`` and, if present, a string
``kid``; no ``crit`` (no extension is understood); a JSON object payload. Of a
duplicated member name the lexically last wins (orjson), as RFC 7515 §4 allows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import orjson

from keystead.core.tokens.errors import TokenRefused
from keystead.core.tokens.keys import VerifyingKey, b64url_decode_alphabet

MAX_TOKEN_BYTES = 8192
ACCESS_TOKEN_TYPES: frozenset[str] = frozenset({"at+jwt", "application/at+jwt"})
"""The ``typ`` values of an access token (RFC 9068 §2.1), compared case-insensitively."""

_COMPACT = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)").fullmatch


@dataclass(frozen=True, slots=True)
class ParsedToken:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes
    kid: str | None
    alg: str | None


def looks_like_jwt(credential: str) -> bool:
    """Cheap: a JSON header start (``eyJ``) and two dots; decides nothing."""
    return credential.startswith("eyJ") and credential.count(".") == 2


def _decode(segment: str) -> bytes:
    try:
        return b64url_decode_alphabet(segment)
    except ValueError as exc:
        raise TokenRefused("malformed", "not canonical base64url") from exc


def _object(segment: str, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(_decode(segment))
    except orjson.JSONDecodeError as exc:
        raise TokenRefused("malformed", f"the {what} is not JSON") from exc
    if type(value) is not dict:
        raise TokenRefused("malformed", f"the {what} is not a JSON object")
    return value


def _split(token: str, max_bytes: int) -> tuple[str, str, str]:
    if not isinstance(token, str):
        raise TokenRefused("malformed", "not text")
    if len(token) > max_bytes:
        raise TokenRefused("too_large", f"over {max_bytes} bytes")
    match = _COMPACT(token)
    if match is None:
        raise TokenRefused("malformed", "not three base64url segments")
    return match.group(1, 2, 3)  # type: ignore[return-value]


def _header(segment: str) -> tuple[dict[str, Any], str, str | None]:
    header = _object(segment, "header")
    alg = header.get("alg")
    kid = header.get("kid")
    if type(alg) is not str or (kid is not None and type(kid) is not str):
        raise TokenRefused("malformed", "the header's alg and kid are strings")
    if "crit" in header:
        raise TokenRefused("malformed", "no critical header extension is understood")
    return header, alg, kid


def parse(token: str, *, max_bytes: int = MAX_TOKEN_BYTES) -> ParsedToken:
    """The parts of a compact JWS, unverified: for inspection, never for trust.
    Raises ``TokenRefused`` ("too_large" or "malformed")."""
    head, body, tail = _split(token, max_bytes)
    header, alg, kid = _header(head)
    claims = _object(body, "payload")
    signature = _decode(tail) if tail else b""
    signing_input = token[: len(head) + 1 + len(body)].encode("ascii")
    return ParsedToken(header, claims, signing_input, signature, kid, alg)


def _type_matches(typ: object, expected: str | Collection[str]) -> bool:
    if type(typ) is not str:
        return False
    typ = typ.lower()
    return typ == expected if isinstance(expected, str) else typ in expected


def verified(
    token: str,
    keys: Callable[[str | None], VerifyingKey | None],
    *,
    typ: str | Collection[str] | None = ACCESS_TOKEN_TYPES,
    max_bytes: int = MAX_TOKEN_BYTES,
) -> ParsedToken:
    """The token, its signature checked with the key ``keys(kid)`` answers.

    ``typ`` is the header type required (lower case; access tokens by default;
    ``None`` accepts any). Raises ``TokenRefused``: "too_large", "malformed",
    "algorithm" (``none``, or not the key's), "unknown_kid", "signature". The
    claims are not checked here: see ``claims.check_claims``."""
    head, body, tail = _split(token, max_bytes)
    header, alg, kid = _header(head)
    if alg == "none":
        raise TokenRefused("algorithm", "unsigned tokens are refused")
    if typ is not None and not _type_matches(header.get("typ"), typ):
        raise TokenRefused("malformed", "not the expected token type")
    key = keys(kid)
    if key is None:
        raise TokenRefused("unknown_kid", "no key has this kid")
    if alg != key.algorithm:
        raise TokenRefused("algorithm", "the header's algorithm is not the key's")
    signing_input = token[: len(head) + 1 + len(body)].encode("ascii")
    signature = _decode(tail) if tail else b""
    if not key.verify(signing_input, signature):
        raise TokenRefused("signature", "the signature does not verify")
    return ParsedToken(header, _object(body, "payload"), signing_input, signature, kid, alg)


__all__ = [
    "ACCESS_TOKEN_TYPES",
    "MAX_TOKEN_BYTES",
    "ParsedToken",
    "looks_like_jwt",
    "parse",
    "verified",
]
