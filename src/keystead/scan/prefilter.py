"""Which rules can match a buffer, decided in one pass before any Python regex runs.

Most files hold no credential, so the scanner's speed is the speed of saying
"nothing here". Hyperscan compiles every rule's regex (in its prefilter mode, a
superset of what the regex matches) and every keyword into one automaton and
reads the buffer once at gigabytes per second. A rule's Python regex then runs
only on files where Hyperscan saw both its regex and one of its keywords.

Hyperscan reads bytes, Python's ``re`` reads characters: on pure ASCII the two
agree, so the regex gate is used there; on other text only the keywords (ASCII
literals, case-insensitive) gate, which is still exact because every match
holds a keyword. Without Hyperscan (a platform with no wheel) the keywords gate
through ``bytes.lower`` and ``in``, slower but the same findings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from keystead.scan.rules import Rule

BASE64_MIN = 32
"""Shortest base64 run worth decoding: 24 bytes of text."""
BASE64_GATE = rb"[A-Za-z0-9+/]{%d}" % BASE64_MIN


class Prefilter(Protocol):
    """Answers, for one buffer, the indexes of the rules that may match and
    whether a base64 run long enough to decode is present."""

    name: str

    def candidates(self, data: bytes) -> tuple[list[int], bool]: ...


class KeywordPrefilter:
    """Keyword gating with the standard library only."""

    name = "keywords"

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._always = [i for i, rule in enumerate(rules) if not rule.keywords]
        self._keywords: dict[bytes, list[int]] = {}
        for index, rule in enumerate(rules):
            for keyword in rule.keywords:
                self._keywords.setdefault(keyword.encode("ascii"), []).append(index)

    def candidates(self, data: bytes) -> tuple[list[int], bool]:
        lowered = data.lower()
        found = set(self._always)
        for keyword, indexes in self._keywords.items():
            if keyword in lowered:
                found.update(indexes)
        return sorted(found), True


class HyperscanPrefilter:
    """One Hyperscan database: rule regexes (prefilter mode), keywords
    (caseless) and the base64 gate, each reported at most once per buffer."""

    name = "hyperscan"

    def __init__(self, rules: Sequence[Rule]) -> None:
        import hyperscan

        self._hs = hyperscan
        count = len(rules)
        expressions: list[bytes] = []
        ids: list[int] = []
        flags: list[int] = []
        single = hyperscan.HS_FLAG_SINGLEMATCH
        for index, rule in enumerate(rules):
            expressions.append(_dialect(rule.regex).encode("utf-8"))
            ids.append(index)
            flags.append(single | hyperscan.HS_FLAG_PREFILTER)
        self._keyword_rules: dict[int, list[int]] = {}
        keyword_ids: dict[str, int] = {}
        for index, rule in enumerate(rules):
            for keyword in rule.keywords:
                if keyword not in keyword_ids:
                    keyword_ids[keyword] = count + len(keyword_ids)
                    expressions.append(_literal(keyword))
                    ids.append(keyword_ids[keyword])
                    flags.append(single | hyperscan.HS_FLAG_CASELESS)
                self._keyword_rules.setdefault(keyword_ids[keyword], []).append(index)
        self._base64_id = count + len(keyword_ids)
        expressions.append(BASE64_GATE)
        ids.append(self._base64_id)
        flags.append(single)
        self._count = count
        self._no_keywords = [i for i, rule in enumerate(rules) if not rule.keywords]
        self._regex_gated = [True] * count
        self._database = self._compile(expressions, ids, flags)

    def _compile(self, expressions: list[bytes], ids: list[int], flags: list[int]) -> object:
        database = self._hs.Database()
        try:
            database.compile(expressions=expressions, ids=ids, elements=len(ids), flags=flags)
            return database
        except self._hs.error:
            pass
        # some rule's regex is beyond Hyperscan even in prefilter mode: keep
        # the ones it takes, gate the others by keywords alone
        kept = []
        for position, ident in enumerate(ids):
            if ident >= self._count:
                kept.append(position)
                continue
            probe = self._hs.Database()
            try:
                probe.compile(
                    expressions=[expressions[position]],
                    ids=[0],
                    elements=1,
                    flags=[flags[position]],
                )
                kept.append(position)
            except self._hs.error:
                self._regex_gated[ident] = False
        database = self._hs.Database()
        database.compile(
            expressions=[expressions[p] for p in kept],
            ids=[ids[p] for p in kept],
            elements=len(kept),
            flags=[flags[p] for p in kept],
        )
        return database

    def candidates(self, data: bytes) -> tuple[list[int], bool]:
        hits: set[int] = set()

        def on_match(ident: int, start: int, end: int, flags: int, context: object) -> None:
            hits.add(ident)

        self._database.scan(data, match_event_handler=on_match)  # type: ignore[attr-defined]
        keyword_ok: set[int] = set(self._no_keywords)
        for ident in hits:
            if ident >= self._count and ident != self._base64_id:
                keyword_ok.update(self._keyword_rules[ident])
        if data.isascii():
            found = [i for i in keyword_ok if i in hits or not self._regex_gated[i]]
        else:
            found = list(keyword_ok)
        found.sort()
        return found, self._base64_id in hits


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
]
