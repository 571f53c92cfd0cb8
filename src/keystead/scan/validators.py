"""Offline checks that turn a pattern match into a finding.

A validator takes the matched secret and answers whether it is well formed
beyond what a regex can say: a checksum that matches, a token that decodes, a
key that parses. None of them does I/O, so a scan never calls a provider.
Rules name their validator in ``rules.toml``; :data:`VALIDATORS` is the only
place names resolve. Every validator returns ``False`` on any malformed input
rather than raising.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable

from keystead.core import keyformat
from keystead.scan import _keyfiles, _macaroon, _placeholders

_BASE62_CHECKSUM = 6


def keystead_checksum(secret: str) -> bool:
    """A Keystead key: right shape and CRC-32 checksum (docs/security.md)."""
    return keyformat.parse(secret) is not None


def github_checksum(secret: str) -> bool:
    """GitHub's ``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_`` tokens and npm's
    ``npm_`` tokens: the last six characters are the CRC-32 of the random part
    (between the prefix's underscore and the checksum) in base62, left-padded
    with ``0``: the scheme Keystead's own keys borrowed, minus the prefix."""
    _, sep, rest = secret.partition("_")
    if not sep or len(rest) <= _BASE62_CHECKSUM or not rest.isascii() or not rest.isalnum():
        return False
    body, check = rest[:-_BASE62_CHECKSUM], rest[-_BASE62_CHECKSUM:]
    return keyformat.checksum(body) == check


def _b64decode(text: str, *, urlsafe: bool) -> bytes | None:
    """Padding-tolerant base64 that refuses stray characters."""
    text = text.rstrip("=")
    if len(text) % 4 == 1:
        return None
    alphabet = _B64URL if urlsafe else _B64STD
    if alphabet.fullmatch(text) is None:
        return None
    padded = text + "=" * (-len(text) % 4)
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


_B64URL = re.compile(r"[A-Za-z0-9_\-]*")
_B64STD = re.compile(r"[A-Za-z0-9+/]*")


def _json_object(segment: str, *, urlsafe: bool = True) -> dict[str, object] | None:
    raw = _b64decode(segment, urlsafe=urlsafe)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _jwt_parts(secret: str) -> tuple[dict[str, object], dict[str, object]] | None:
    parts = secret.split(".")
    if len(parts) != 3 or _b64decode(parts[2], urlsafe=True) is None:
        return None
    header, payload = _json_object(parts[0]), _json_object(parts[1])
    if header is None or payload is None:
        return None
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        return None
    return header, payload


def jwt(secret: str) -> bool:
    """A signed JWT: header and payload are base64url JSON objects, the header
    names an ``alg`` other than ``none`` and the signature is base64url. A
    Supabase anon key is a JWT made to be shipped to browsers: not a finding."""
    parts = _jwt_parts(secret)
    if parts is None:
        return False
    claims = parts[1]
    return not (claims.get("iss") == "supabase" and claims.get("role") == "anon")


def supabase_service_role(secret: str) -> bool:
    """A Supabase service-role key: a signed JWT whose ``role`` is
    ``service_role`` (the anon key, meant for browsers, is not a finding)."""
    parts = _jwt_parts(secret)
    return parts is not None and parts[1].get("role") == "service_role"


def azure_storage_key(secret: str) -> bool:
    """An Azure storage account key: canonical base64 of exactly 64 random
    bytes (a hand-edited value rarely re-encodes to itself)."""
    raw = _b64decode(secret, urlsafe=False)
    return raw is not None and len(raw) == 64 and base64.b64encode(raw).decode() == secret


def discord_bot_token(secret: str) -> bool:
    """A Discord bot token's first segment is the bot's user id (a snowflake)
    in base64: it must decode to 17 to 20 decimal digits."""
    first = secret.split(".", 1)[0]
    raw = _b64decode(first, urlsafe=True)
    return raw is not None and raw.isdigit() and 17 <= len(raw) <= 20


def grafana_cloud_token(secret: str) -> bool:
    """``glc_`` + base64 of a JSON object (organisation, name, key, region)."""
    body = secret.removeprefix("glc_")
    return _json_object(body, urlsafe=False) is not None or _json_object(body) is not None


def onepassword_service_token(secret: str) -> bool:
    """``ops_`` + base64url of a JSON object (the service account's claims)."""
    return _json_object(secret.removeprefix("ops_")) is not None


def sentry_org_token(secret: str) -> bool:
    """``sntrys_<base64 JSON>_<secret>``: the middle must decode to an object
    with the Sentry ``url`` it was issued for."""
    middle = secret.removeprefix("sntrys_").rpartition("_")[0]
    claims = _json_object(middle, urlsafe=False) or _json_object(middle)
    return claims is not None and isinstance(claims.get("url"), str)


def mapbox_secret_token(secret: str) -> bool:
    """``sk.<base64url JSON with the user "u">.<signature>``."""
    parts = secret.split(".")
    if len(parts) != 3:
        return False
    claims = _json_object(parts[1])
    return claims is not None and isinstance(claims.get("u"), str)


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "keystead_checksum": keystead_checksum,
    "github_checksum": github_checksum,
    "jwt": jwt,
    "supabase_service_role": supabase_service_role,
    "private_key": _keyfiles.private_key,
    "pgp_private_key": _keyfiles.pgp_private_key,
    "age_bech32_checksum": _keyfiles.age_secret_key,
    "pypi_macaroon": _macaroon.pypi_macaroon,
    "azure_storage_key": azure_storage_key,
    "discord_bot_token": discord_bot_token,
    "grafana_cloud_token": grafana_cloud_token,
    "onepassword_service_token": onepassword_service_token,
    "sentry_org_token": sentry_org_token,
    "mapbox_secret_token": mapbox_secret_token,
    "not_placeholder": _placeholders.not_placeholder,
    "not_placeholder_or_identifier": _placeholders.not_placeholder_or_identifier,
}
"""Validator name (as written in a rules file) to check."""

__all__ = [
    "VALIDATORS",
    "azure_storage_key",
    "discord_bot_token",
    "github_checksum",
    "grafana_cloud_token",
    "jwt",
    "keystead_checksum",
    "mapbox_secret_token",
    "onepassword_service_token",
    "sentry_org_token",
    "supabase_service_role",
]
