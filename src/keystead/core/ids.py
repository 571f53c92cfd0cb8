"""Time-ordered resource ids: ``<kind>_<10 chars of ms time><16 random chars>``.

Crockford base32 keeps ids sortable by creation time as plain strings, which
makes them usable as pagination cursors. Ids are public; they are not secrets.
"""

from __future__ import annotations

import os

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_CHARS = 16
_POOL_BYTES = 128 * _RANDOM_CHARS
"""One random byte per character: 128 tails a pool."""


_DIGIT_OF_BYTE = bytes(ord(_CROCKFORD[b & 0x1F]) for b in range(256))
"""A byte's low five bits as a Crockford digit (``bytes.translate``): 256 is a
multiple of 32, so a uniform byte gives a uniform digit, 5 random bits."""
_PAIRS = tuple(a + b for a in _CROCKFORD for b in _CROCKFORD)
"""Every two-digit string, by its 10-bit value: a digit pair per lookup."""


def _base32(value: int, width: int) -> str:
    """The last ``width`` (even) Crockford base32 digits of ``value``, most
    significant first."""
    return "".join([_PAIRS[(value >> shift) & 0x3FF] for shift in range(5 * width - 10, -1, -10)])


def _tails_of(block: bytes) -> list[str]:
    """``block``'s bytes as digits (``_DIGIT_OF_BYTE``, one C call), cut in tails:
    80 random bits each, as 10 bytes written in base32 would give."""
    text = block.translate(_DIGIT_OF_BYTE).decode("ascii")
    return [text[at : at + _RANDOM_CHARS] for at in range(0, len(text), _RANDOM_CHARS)]


class _RandomTails:
    """The 16 random characters of ids, made 128 at a time from one ``os.urandom``
    call (``_tails_of``) (a system call per id, on the serving thread, also handed the GIL to any
    waiting thread). ``list.pop`` is atomic, so threads never share a tail; a
    forked child drops its parent's, which it must not repeat."""

    def __init__(self) -> None:
        self._ready: list[str] = []

    def take(self) -> str:
        try:
            return self._ready.pop()
        except IndexError:
            fresh = _tails_of(os.urandom(_POOL_BYTES))
            self._ready = fresh
            return fresh.pop()

    def reset(self) -> None:
        self._ready = []


_tails = _RandomTails()
os.register_at_fork(after_in_child=_tails.reset)
_last_millis: tuple[int, str] = (-1, "")
"""The last millisecond an id was made in, and its digits: ids made in one
millisecond share them."""


def new_id(kind: str, now: float) -> str:
    global _last_millis
    millis = int(now * 1000)
    last = _last_millis
    if last[0] == millis:
        head = last[1]
    else:
        head = _base32(millis, 10)
        _last_millis = (millis, head)
    return f"{kind}_{head}{_tails.take()}"


def looks_like_id(kind: str, value: str) -> bool:
    head, sep, tail = value.partition("_")
    return (
        sep == "_"
        and head == kind
        and len(tail) == 10 + _RANDOM_CHARS
        and all(c in _CROCKFORD for c in tail)
    )


__all__ = ["looks_like_id", "new_id"]
