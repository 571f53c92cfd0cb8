"""Which rules can match a buffer, decided in one pass before any Python regex runs.

Most files hold no credential, so the scanner's speed is the speed of saying
"nothing here". Hyperscan compiles every rule's regex and every keyword into
one automaton and reads the buffer once, at over a hundred megabytes per
second. A rule's Python regex then runs only on buffers where Hyperscan saw
both the regex and one of the rule's keywords.

Hyperscan reads bytes, Python's ``re`` reads characters. So the prefilter
reads a one-byte-per-character image of the text (:func:`gate_bytes`): ASCII
as it is, Unicode whitespace as a space, any other character as byte 0x80. A
bounded repeat such as ``.{0,20}`` then counts the same in both, and every
construct the rules use (``.``, ``\\s``, ``\\S``, ``\\b``, negated sets) matches
the image wherever Python matches the text: the gate lets through a superset.
A rule using ``\\w`` or ``\\d`` (which Python extends to Unicode letters and
digits) is gated by its keywords alone on non-ASCII text. (A second database
in Hyperscan's UTF-8 mode was tried: the generic assignment rule alone took
over a second to compile, too slow for a pre-commit hook.)
Without Hyperscan (a platform with no wheel) the keywords gate through
``bytes.lower`` and ``in``: slower, the same findings.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from typing import Any, Protocol

from keystead.scan.rules import Rule

BASE64_MIN = 32
"""Shortest base64 run worth decoding: 24 bytes of text."""
BASE64_GATE = rb"[A-Za-z0-9+/]{%d}" % BASE64_MIN


class Prefilter(Protocol):
    """Answers, for one buffer, the indexes of the rules that may match and
    whether a base64 run long enough to decode is present."""

    name: str

    def candidates(self, text: str) -> tuple[list[int], bool]: ...


class KeywordPrefilter:
    """Keyword gating with the standard library only."""

    name = "keywords"

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._always = [i for i, rule in enumerate(rules) if not rule.keywords]
        self._keywords: dict[bytes, list[int]] = {}
        for index, rule in enumerate(rules):
            for keyword in rule.keywords:
                self._keywords.setdefault(keyword.encode("ascii"), []).append(index)

    def candidates(self, text: str) -> tuple[list[int], bool]:
        lowered = gate_bytes(text).lower()
        found = set(self._always)
        for keyword, indexes in self._keywords.items():
            if keyword in lowered:
                found.update(indexes)
        return sorted(found), True


class HyperscanPrefilter:
    """Rule regexes, keywords (caseless) and the base64 gate in one Hyperscan
    database, each reported at most once per buffer. A regex Hyperscan can
    not take exactly (a lookaround, a backreference) goes in its prefilter
    mode, which matches a superset; one it can not take at all is gated by
    its keywords alone."""

    name = "hyperscan"

    def __init__(self, rules: Sequence[Rule]) -> None:
        import hyperscan

        self._hs = hyperscan
        count = len(rules)
        self._count = count
        self._no_keywords = [i for i, rule in enumerate(rules) if not rule.keywords]
        self._keyword_rules: dict[int, list[int]] = {}
        keyword_ids: dict[str, int] = {}
        literals: list[bytes] = []
        for index, rule in enumerate(rules):
            for keyword in rule.keywords:
                if keyword not in keyword_ids:
                    keyword_ids[keyword] = count + len(keyword_ids)
                    literals.append(_literal(keyword))
                self._keyword_rules.setdefault(keyword_ids[keyword], []).append(index)
        self._base64_id = count + len(keyword_ids)
        regexes = [_dialect(rule.regex).encode("utf-8") for rule in rules]
        self._database, self._gated = self._build_all(regexes, literals)
        self._ascii_only = [_UNICODE_CLASS.search(rule.regex) is not None for rule in rules]

    def _build_all(self, regexes: list[bytes], literals: list[bytes]) -> tuple[Any, list[bool]]:
        """The database, and which rules' regexes it holds."""
        hs = self._hs
        single = hs.HS_FLAG_SINGLEMATCH
        gated = [True] * self._count
        flags = [single] * self._count
        try:
            return self._build(regexes, literals, gated, flags, single), gated
        except hs.error:
            pass
        # find the regexes Hyperscan refuses, one by one
        for index in range(self._count):
            if gated[index] and not self._accepts(regexes[index], flags[index]):
                flags[index] |= hs.HS_FLAG_PREFILTER
                gated[index] = self._accepts(regexes[index], flags[index])
        return self._build(regexes, literals, gated, flags, single), gated

    def _build(
        self,
        regexes: list[bytes],
        literals: list[bytes],
        gated: list[bool],
        flags: list[int],
        single: int,
    ) -> Any:
        rules = [i for i in range(self._count) if gated[i]]
        caseless = single | self._hs.HS_FLAG_CASELESS
        return self._compile(
            [regexes[i] for i in rules] + literals + [BASE64_GATE],
            [*rules, *range(self._count, self._base64_id + 1)],
            [flags[i] for i in rules] + [caseless] * len(literals) + [single],
        )

    def _compile(self, expressions: list[bytes], ids: list[int], flags: list[int]) -> Any:
        database = self._hs.Database()
        database.compile(expressions=expressions, ids=ids, elements=len(ids), flags=flags)
        return database

    def _accepts(self, expression: bytes, flags: int) -> bool:
        try:
            self._compile([expression], [0], [flags])
        except self._hs.error:
            return False
        return True

    def candidates(self, text: str) -> tuple[list[int], bool]:
        data = gate_bytes(text)
        hits: set[int] = set()

        def on_match(ident: int, start: int, end: int, flags: int, context: object) -> None:
            hits.add(ident)

        self._database.scan(data, match_event_handler=on_match)
        keyword_ok: set[int] = set(self._no_keywords)
        for ident in hits:
            if self._count <= ident < self._base64_id:
                keyword_ok.update(self._keyword_rules[ident])
        ascii_only = self._ascii_only if not text.isascii() else ()
        found = sorted(
            i
            for i in keyword_ok
            if i in hits or not self._gated[i] or (ascii_only and ascii_only[i])
        )
        return found, self._base64_id in hits


_UNICODE_CLASS = re.compile(r"(?<!\\)(?:\\\\)*\\[wd]")
"""``\\w`` or ``\\d``, which Python's ``re`` extends beyond ASCII."""
_GATE_ERRORS = "keystead-scan-gate"


def _gate_replace(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    run = error.object[error.start : error.end]
    return bytes(32 if char.isspace() else 0x80 for char in run), error.end


codecs.register_error(_GATE_ERRORS, _gate_replace)


def gate_bytes(text: str) -> bytes:
    """One byte per character of ``text``, for the prefilter: ASCII kept,
    Unicode whitespace as a space, anything else as 0x80."""
    return text.encode("ascii", _GATE_ERRORS)


_OPEN_REPEAT = re.compile(r"(?<!\\)\{,(\d+)\}")


def _dialect(regex: str) -> str:
    """Python's ``{,n}`` is PCRE's literal text: spell it ``{0,n}``."""
    return _OPEN_REPEAT.sub(r"{0,\1}", regex)


def _literal(keyword: str) -> bytes:
    """A keyword as a Hyperscan expression matching it literally."""
    return b"".join(b"\\x%02x" % byte for byte in keyword.encode("ascii"))


def build_prefilter(rules: Sequence[Rule]) -> Prefilter:
    """Hyperscan when it is installed, else the standard-library keyword gate."""
    try:
        return HyperscanPrefilter(rules)
    except ImportError:
        return KeywordPrefilter(rules)


__all__ = [
    "BASE64_MIN",
    "HyperscanPrefilter",
    "KeywordPrefilter",
    "Prefilter",
    "build_prefilter",
    "gate_bytes",
]
