"""Time-ordered resource ids: ``<kind>_<10 chars of ms time><16 random chars>``.

Crockford base32 keeps ids sortable by creation time as plain strings, which
makes them usable as pagination cursors. Ids are public; they are not secrets.
"""

from __future__ import annotations

import secrets

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_CHARS = 16


def _base32(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, digit = divmod(value, 32)
        out.append(_CROCKFORD[digit])
    return "".join(reversed(out))


def new_id(kind: str, now: float) -> str:
    millis = int(now * 1000)
    # 16 characters of 5 random bits each, drawn at once (a draw per character was
    # most of the cost of an audited read's entry)
    rand = _base32(secrets.randbits(5 * _RANDOM_CHARS), _RANDOM_CHARS)
    return f"{kind}_{_base32(millis, 10)}{rand}"


def looks_like_id(kind: str, value: str) -> bool:
    head, sep, tail = value.partition("_")
    return (
        sep == "_"
        and head == kind
        and len(tail) == 10 + _RANDOM_CHARS
        and all(c in _CROCKFORD for c in tail)
    )


__all__ = ["looks_like_id", "new_id"]
