"""Time-ordered resource ids: ``<kind>_<10 chars of ms time><16 random chars>``.

Crockford base32 keeps ids sortable by creation time as plain strings, which
makes them usable as pagination cursors. Ids are public; they are not secrets.
"""

from __future__ import annotations

import os
import threading

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_CHARS = 16
_RANDOM_BYTES = _RANDOM_CHARS * 5 // 8
_POOL_BYTES = 128 * _RANDOM_BYTES


class _RandomPool:
    """Bytes from ``os.urandom`` drawn a block at a time: one system call per 128
    ids, not one per id (a system call on the serving thread also hands the GIL
    to any waiting thread). Emptied in a forked child, which must not repeat its
    parent's bytes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._at = 0

    def draw(self) -> int:
        """80 random bits."""
        with self._lock:
            if self._at + _RANDOM_BYTES > len(self._pool):
                self._pool, self._at = os.urandom(_POOL_BYTES), 0
            chunk = self._pool[self._at : self._at + _RANDOM_BYTES]
            self._at += _RANDOM_BYTES
        return int.from_bytes(chunk, "big")

    def reset(self) -> None:
        self._lock = threading.Lock()
        self._pool, self._at = b"", 0


_random = _RandomPool()
os.register_at_fork(after_in_child=_random.reset)


_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)
"""Every two-digit string, by its 10-bit value: a digit pair per lookup."""


def _base32(value: int, width: int) -> str:
    """The last ``width`` (even) Crockford base32 digits of ``value``, most
    significant first."""
    return "".join(_PAIRS[(value >> shift) & 0x3FF] for shift in range(5 * width - 10, -1, -10))


def new_id(kind: str, now: float) -> str:
    millis = int(now * 1000)
    # 16 characters of 5 random bits each, drawn at once (a draw per character was
    # most of the cost of an audited read's entry)
    rand = _base32(_random.draw(), _RANDOM_CHARS)
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
