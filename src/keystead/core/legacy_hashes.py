"""Hashes of keys issued by another system, kept until each key's first use
(docs/operations.md, "Importing keys"). Pure: no I/O; bcrypt and argon2-cffi are
imported when a hash of theirs is checked (the ``import`` extra).

Every legacy hash is found by a *lookup*, one indexed value, never by a scan:

- ``sha256``: the digest itself (``sha256:<hex>``); ``hmac-sha256``: the HMAC
  under the old system's key, which the server is configured with (``hmac:<hex>``);
- ``drf-api-key`` (djangorestframework-api-key): the key's prefix, the text
  before its ``.`` (``drf:<prefix>``);
- ``bcrypt``, ``argon2``, ``pbkdf2_sha256``: a salted hash has nothing to look up
  by, so each row must give ``lookup``, the key's first 8 to 32 characters, unique
  among imported keys (``start:<text>``). A verification tries
  the 25 prefixes of the key in one indexed query and checks at most
  ``MAX_SLOW_CHECKS`` of the hashes found.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from keystead.errors import MissingDependency, ValidationError

SCHEMES = ("sha256", "hmac-sha256", "bcrypt", "argon2", "pbkdf2_sha256", "drf-api-key")
SLOW_SCHEMES = frozenset({"bcrypt", "argon2", "pbkdf2_sha256"})
MAX_KEY_LENGTH = 256
"""The longest imported key; Keystead's own are shorter."""
MIN_LOOKUP, MAX_LOOKUP = 8, 32
MAX_SLOW_CHECKS = 4
"""Slow hashes checked at most per verification (lookups are unique, but a
shorter one can be a prefix of a longer one)."""
_PRINTABLE = re.compile(r"[\x21-\x7e]{8,256}")
_DRF_KEY = re.compile(r"([A-Za-z0-9]{1,32})\.([A-Za-z0-9]{1,128})")
_EXTRA = "{} hashes need the import extra: pip install 'keystead[import]'"
_DJANGO_SCHEMES = ("sha512", "pbkdf2_sha256", "argon2", "bcrypt_sha256", "bcrypt")


@dataclass(frozen=True, slots=True)
class LegacyHash:
    """A row's legacy hash, checked; ``value`` never leaves the store again."""

    scheme: str
    value: str
    lookup: str

    def __repr__(self) -> str:
        return f"LegacyHash({self.scheme!r}, <hidden>)"


def plausible(key: str) -> bool:
    """Printable ASCII without spaces, 8 to 256 characters: what an imported key
    may look like (anything else is refused before a lookup)."""
    return _PRINTABLE.fullmatch(key) is not None


def parse(given: Any, lookup: Any = None) -> LegacyHash:
    """The ``key_hash`` field of an import row (``{"scheme", "value"}``) and its
    ``lookup`` (slow schemes); ValidationError naming the field otherwise."""
    if not isinstance(given, dict):
        raise ValidationError('key_hash is {"scheme": ..., "value": ...}', field="key_hash")
    scheme, value = given.get("scheme"), given.get("value")
    if scheme not in SCHEMES:
        raise ValidationError(f"scheme is one of {', '.join(SCHEMES)}", field="key_hash.scheme")
    if not isinstance(value, str) or not 1 <= len(value) <= 1024:
        raise ValidationError("value is the hash as text", field="key_hash.value")
    unknown = set(given) - {"scheme", "value", "prefix"}
    if unknown:
        raise ValidationError(f"unknown field {sorted(unknown)[0]}", field="key_hash")
    if scheme in ("sha256", "hmac-sha256"):
        digest = _sha256_hex(value)
        return LegacyHash(scheme, digest, f"{scheme.partition('-')[0]}:{digest}")
    if scheme == "drf-api-key":
        return _drf(value, given.get("prefix"))
    return _slow(scheme, value, lookup)


def lookups_of(key: str, hmac_key: bytes | None = None) -> list[str]:
    """Every lookup under which a legacy hash of ``key`` can be stored."""
    found = [f"sha256:{hashlib.sha256(key.encode()).hexdigest()}"]
    if hmac_key is not None:
        found.append(f"hmac:{_hmac(hmac_key, key)}")
    drf = _DRF_KEY.fullmatch(key)
    if drf is not None:
        found.append(f"drf:{drf.group(1)}")
    top = min(len(key), MAX_LOOKUP)
    found.extend(f"start:{key[:n]}" for n in range(top, MIN_LOOKUP - 1, -1))
    return found


def matches(found: LegacyHash, key: str, hmac_key: bytes | None = None) -> bool:
    """Whether ``key`` is the key of ``found``: a fast compare for sha256, HMAC and
    drf's sha512, a slow hash otherwise (call it off the event loop)."""
    if found.scheme == "sha256":
        digest = hashlib.sha256(key.encode()).hexdigest()
        return hmac.compare_digest(digest, found.value)
    if found.scheme == "hmac-sha256":
        return hmac_key is not None and hmac.compare_digest(_hmac(hmac_key, key), found.value)
    if found.scheme == "drf-api-key":
        return _DRF_KEY.fullmatch(key) is not None and _django(found.value, key)
    if found.scheme == "pbkdf2_sha256":
        return _django(found.value, key)
    if found.scheme == "bcrypt":
        return _bcrypt(found.value, key.encode())
    return _argon2(found.value, key)


def lookup_digest(lookup: str) -> str:
    """What the store indexes for ``lookup``: its SHA-256, so that neither a key's
    text nor a legacy digest is ever a query's parameter."""
    return hashlib.sha256(lookup.encode()).hexdigest()


def to_stored(found: LegacyHash) -> bytes:
    """The legacy hash as stored (bytes, as Keystead's own hashes): a digest's raw
    bytes, an encoded hash's text."""
    if found.scheme in ("sha256", "hmac-sha256"):
        return bytes.fromhex(found.value)
    return found.value.encode()


def from_stored(scheme: str, stored: bytes, lookup: str) -> LegacyHash:
    if scheme in ("sha256", "hmac-sha256"):
        return LegacyHash(scheme, stored.hex(), lookup)
    return LegacyHash(scheme, stored.decode(), lookup)


def is_slow(found: LegacyHash) -> bool:
    if found.scheme == "drf-api-key":
        return not found.value.startswith("sha512$$")
    return found.scheme in SLOW_SCHEMES


def _hmac(secret: bytes, key: str) -> str:
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def _sha256_hex(value: str) -> str:
    text = value.strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return text.lower()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=_altchars(text))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValidationError(
            "a sha256 value is 64 hex digits or 32 bytes in base64", field="key_hash.value"
        )
    return raw.hex()


def _altchars(text: str) -> bytes | None:
    return b"-_" if ("-" in text or "_" in text) else None


def _drf(value: str, prefix: Any) -> LegacyHash:
    if prefix is None and "." in value:  # the model's id: <prefix>.<hashed_key>
        prefix, _, value = value.partition(".")
    if not isinstance(prefix, str) or re.fullmatch(r"[A-Za-z0-9]{1,32}", prefix) is None:
        raise ValidationError(
            "a drf-api-key hash needs its prefix (or value = the id, <prefix>.<hashed_key>)",
            field="key_hash.prefix",
        )
    if not value.startswith(tuple(f"{s}$" for s in _DJANGO_SCHEMES)):
        raise ValidationError(
            f"a Django hash starts with one of {', '.join(_DJANGO_SCHEMES)} and $",
            field="key_hash.value",
        )
    return LegacyHash("drf-api-key", value, f"drf:{prefix}")


def _slow(scheme: str, value: str, lookup: Any) -> LegacyHash:
    if (
        not isinstance(lookup, str)
        or not MIN_LOOKUP <= len(lookup) <= MAX_LOOKUP
        or not plausible(lookup)
    ):
        raise ValidationError(
            f"a {scheme} hash needs lookup: the key's first {MIN_LOOKUP} to {MAX_LOOKUP} "
            "characters (a salted hash cannot be found otherwise)",
            field="lookup",
        )
    shapes = {
        "bcrypt": r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}",
        "argon2": r"\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+",
        "pbkdf2_sha256": r"pbkdf2_sha256\$\d{1,7}\$[^$]+\$[A-Za-z0-9+/=]+",
    }
    if re.fullmatch(shapes[scheme], value) is None:
        raise ValidationError(f"not a {scheme} hash", field="key_hash.value")
    return LegacyHash(scheme, value, f"start:{lookup}")


def _django(encoded: str, key: str) -> bool:
    """Django's password-hasher notation, for the hashers djangorestframework-api-key
    stored keys under."""
    algorithm, _, rest = encoded.partition("$")
    if algorithm == "sha512":
        return hmac.compare_digest(encoded, "sha512$$" + hashlib.sha512(key.encode()).hexdigest())
    if algorithm == "pbkdf2_sha256":
        iterations, salt, digest = [*rest.split("$"), "", "", ""][:3]
        if not iterations.isdigit() or not 0 < int(iterations) <= 10_000_000:
            return False
        derived = hashlib.pbkdf2_hmac("sha256", key.encode(), salt.encode(), int(iterations))
        return hmac.compare_digest(base64.b64encode(derived).decode(), digest)
    if algorithm == "argon2":
        return _argon2("$" + rest, key)
    if algorithm == "bcrypt_sha256":
        return _bcrypt(rest, hashlib.sha256(key.encode()).hexdigest().encode())
    if algorithm == "bcrypt":
        return _bcrypt(rest, key.encode())
    return False


def _bcrypt(encoded: str, secret: bytes) -> bool:
    try:
        import bcrypt
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise MissingDependency(_EXTRA.format("bcrypt")) from exc
    try:
        return bool(bcrypt.checkpw(secret[:72], encoded.encode()))
    except ValueError:
        return False


def _argon2(encoded: str, key: str) -> bool:
    try:
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise MissingDependency(_EXTRA.format("argon2")) from exc
    try:
        return bool(PasswordHasher().verify(encoded, key))
    except (VerificationError, InvalidHashError):
        return False


__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_SLOW_CHECKS",
    "SCHEMES",
    "LegacyHash",
    "from_stored",
    "is_slow",
    "lookup_digest",
    "lookups_of",
    "matches",
    "parse",
    "plausible",
    "to_stored",
]
