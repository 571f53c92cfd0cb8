"""The structural half of the generic rule's placeholder test. The rules
file's ``allow`` list names placeholder words (``changeme``, ``example``,
``${VAR}`` ...); what a regex without backreferences cannot say lives here:
one character repeated, a short unit repeated, a run of the keyboard or the
alphabet."""

from __future__ import annotations

_RUNS = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789",
    "qwertyuiopasdfghjklzxcvbnm",
)
_MAX_UNIT = 4


def _repeats_a_unit(text: str) -> bool:
    for size in range(1, _MAX_UNIT + 1):
        unit = text[:size]
        if len(text) >= 2 * size and (unit * (len(text) // size + 1)).startswith(text):
            return True
    return False


def _is_a_run(text: str) -> bool:
    lowered = text.lower()
    return any(lowered in run or lowered in run[::-1] for run in _RUNS)


def not_placeholder(secret: str) -> bool:
    """``False`` for a value that is plainly filler: ``xxxxxxxx``,
    ``abcabcabc``, ``12345678``, ``qwertyuiop``."""
    return not (_repeats_a_unit(secret) or _is_a_run(secret))


__all__ = ["not_placeholder"]
