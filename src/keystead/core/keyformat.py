"""The public key format: ``<prefix>_<body><checksum>``.

- ``prefix`` matches ``[a-z][a-z0-9_]{0,31}``;
- ``body`` is base62 (``0-9A-Za-z``) from the ``secrets`` CSPRNG, at least 27
  characters (160 bits), 32 by default (about 190 bits);
- ``checksum`` is the last 6 characters: CRC-32 (``zlib.crc32``) of the ASCII
  bytes of ``<prefix>_<body>``, in base62 over the alphabet below, left-padded
  with ``0``.

Because the body and checksum never contain ``_``, the prefix is everything
before the last underscore. The checksum lets scanners and the verify path
reject a mistyped or made-up key without any lookup.
"""

from __future__ import annotations

import re
import secrets
import zlib
from dataclasses import dataclass

from keystead.errors import ValidationError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHECKSUM_LENGTH = 6
MIN_BODY_LENGTH = 27  # 62**27 > 2**160
MAX_BODY_LENGTH = 64
DEFAULT_BODY_LENGTH = 32
MAX_PREFIX_LENGTH = 32
START_BODY_CHARS = 4
MAX_LENGTH = MAX_PREFIX_LENGTH + 1 + MAX_BODY_LENGTH + CHECKSUM_LENGTH
"""No well-formed key is longer: anything longer is refused before it is hashed."""

_PREFIX_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
_KEY_RE = re.compile(
    rf"([a-z][a-z0-9_]{{0,31}})_([0-9A-Za-z]"
    rf"{{{MIN_BODY_LENGTH + CHECKSUM_LENGTH},{MAX_BODY_LENGTH + CHECKSUM_LENGTH}}})"
)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    prefix: str
    body: str

    @property
    def start(self) -> str:
        return f"{self.prefix}_{self.body[:START_BODY_CHARS]}"


def validate_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or _PREFIX_RE.fullmatch(prefix) is None:
        raise ValidationError(
            "a prefix is 1 to 32 characters of a-z, 0-9 and _, starting with a letter",
            field="prefix",
        )
    return prefix


# every two-digit base62 string, so a checksum is three table lookups
_PAIRS = tuple(a + b for a in ALPHABET for b in ALPHABET)
_PAIR_BASE = 62 * 62
_PAIR_BASE_SQUARED = _PAIR_BASE * _PAIR_BASE


def checksum(prefix_and_body: str) -> str:
    """Base62 CRC-32 of ``<prefix>_<body>``, six characters."""
    value = zlib.crc32(prefix_and_body.encode("ascii"))
    return (
        _PAIRS[value // _PAIR_BASE_SQUARED]
        + _PAIRS[value // _PAIR_BASE % _PAIR_BASE]
        + _PAIRS[value % _PAIR_BASE]
    )


def generate(prefix: str, body_length: int = DEFAULT_BODY_LENGTH) -> str:
    """A new key from the CSPRNG; the only place key material is created."""
    validate_prefix(prefix)
    if not MIN_BODY_LENGTH <= body_length <= MAX_BODY_LENGTH:
        raise ValidationError(
            f"body length must be between {MIN_BODY_LENGTH} and {MAX_BODY_LENGTH}",
            field="body_length",
        )
    body = "".join(secrets.choice(ALPHABET) for _ in range(body_length))
    head = f"{prefix}_{body}"
    return head + checksum(head)


def parse(key: str) -> ParsedKey | None:
    """The key's parts when its shape and checksum are right, else ``None``."""
    match = _KEY_RE.fullmatch(key)
    if match is None:
        return None
    head = key[:-CHECKSUM_LENGTH]
    if checksum(head) != key[-CHECKSUM_LENGTH:]:
        return None
    return ParsedKey(match.group(1), match.group(2)[:-CHECKSUM_LENGTH])


_KEY_IN_TEXT = re.compile(
    rf"[a-z][a-z0-9_]{{0,31}}_[0-9A-Za-z]"
    rf"{{{MIN_BODY_LENGTH + CHECKSUM_LENGTH},{MAX_BODY_LENGTH + CHECKSUM_LENGTH}}}"
)
REDACTED = "<redacted>"
SHORTEST_KEY_TEXT = len("a_") + MIN_BODY_LENGTH + CHECKSUM_LENGTH
"""The fewest characters ``redact_keys`` replaces: shorter text holds no key."""


def redact_keys(text: str) -> str:
    """``text`` with everything shaped like a key replaced, for log lines that
    carry request data (a key pasted into a path, say). Resource ids are far
    too short to match."""
    if len(text) < SHORTEST_KEY_TEXT:
        return text
    return _KEY_IN_TEXT.sub(REDACTED, text)


def is_shaped(key: str) -> bool:
    """Keystead's shape, whatever the checksum (an imported key may have it too)."""
    return _KEY_RE.fullmatch(key) is not None


def is_well_formed(key: str) -> bool:
    """Shape and checksum only: the verify path's first, I/O-free filter."""
    return (
        _KEY_RE.fullmatch(key) is not None
        and checksum(key[:-CHECKSUM_LENGTH]) == key[-CHECKSUM_LENGTH:]
    )


__all__ = [
    "ALPHABET",
    "DEFAULT_BODY_LENGTH",
    "MAX_LENGTH",
    "SHORTEST_KEY_TEXT",
    "ParsedKey",
    "checksum",
    "generate",
    "is_shaped",
    "is_well_formed",
    "parse",
    "redact_keys",
    "validate_prefix",
]
