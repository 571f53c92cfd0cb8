"""The structural half of the generic rule's placeholder test. The rules
file's ``allow`` list names placeholder words (``changeme``, ``example``,
``${VAR}`` ...); what a regex without backreferences cannot say lives here:
one character repeated, a short unit repeated, a run of the keyboard or the
alphabet."""

from __future__ import annotations

import re

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
    """``False`` for a value that is plainly filler (``xxxxxxxx``,
    ``abcabcabc``, ``12345678``, ``qwertyuiop``) or shown elided."""
    return not (_is_elided(secret) or _repeats_a_unit(secret) or _is_a_run(secret))


def _is_elided(text: str) -> bool:
    """A value shown redacted (``sk_live_…nHoN``, ``ghp_...AbCd``): output of
    Keystead or another tool, not the secret itself."""
    return "…" in text or "..." in text


_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_VOWEL = re.compile(r"[aeiouyAEIOUY]")
_MIN_WORD_LETTERS = 8
_WORD_SHARE = 0.75
_MAX_ACRONYM = 6
_ABBREVIATIONS = frozenset(
    "btn cfg cls cmd ctx dst fmt hdr mgr msg pkt ptr pwd req src srv str svc tbl tmp".split()
)
"""Vowel-less short words code spells as words (``HTTPPasswordMgr``,
``SessionCtx``): counted as words, so a name ending in one still reads as a
name. A fixed list, not "any short word without a vowel", which random
strings are full of."""


def reads_as_identifier(value: str) -> bool:
    """``True`` for a name from code: ``ConfigAttribute``, ``DSAPrivateKey``,
    ``_get_new_csrf_string``, ``HTTPPasswordMgr``: words of three or more
    letters with a vowel, or common abbreviations, make up most of it, the
    rest being acronyms, digits and short words.
    About 1 in 50 random 16-character base62 strings passes, 1 in 300 of
    40 characters."""
    stripped = value.strip("_")
    tokens = [t for part in stripped.split("_") if part for t in _TOKEN.findall(part)]
    if "".join(tokens) != stripped.replace("_", ""):
        return False
    words = [t for t in tokens if not t.isupper() and not t.isdigit()]
    if not words or any(len(t) < 2 for t in words):
        return False
    if any(len(t) > _MAX_ACRONYM for t in tokens if t.isupper()):
        return False
    letters = sum(len(t) for t in words)
    in_words = sum(len(t) for t in words if _is_word(t))
    return in_words >= _MIN_WORD_LETTERS and in_words >= _WORD_SHARE * letters


def _is_word(token: str) -> bool:
    return (len(token) >= 3 and _VOWEL.search(token) is not None) or (
        token.lower() in _ABBREVIATIONS
    )


def not_placeholder_or_identifier(value: str) -> bool:
    """The generic rule's check: a value that is neither filler nor a name
    from code (a type annotation, a function passed as a default)."""
    return not_placeholder(value) and not reads_as_identifier(value)


__all__ = ["not_placeholder", "not_placeholder_or_identifier", "reads_as_identifier"]
