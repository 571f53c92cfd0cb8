"""The scanning engine: text in, findings out.

One pass of the prefilter (:mod:`keystead.scan.prefilter`) says which rules
can match; only those rules' Python regexes run. A match becomes a finding
when its secret passes the rule's validator, its entropy floor and its
placeholder allowlist, and its line carries no ``keystead:allow``. Base64 runs
are decoded one level deep and scanned too. When two rules report the same
secret at the same place, the more specific one is kept: a rule whose
validator proves the format, then a provider's rule, then a generic one.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from keystead.core import keyformat
from keystead.scan.decode import NOTEBOOK_SUFFIX, base64_segments, json_escaped, notebook_texts
from keystead.scan.finding import Finding
from keystead.scan.prefilter import build_prefilter, default_cache_dir
from keystead.scan.rules import Rule
from keystead.scan.validators import VALIDATORS

ALLOW_MARKER = "keystead:allow"
"""A line holding this text reports nothing (a comment, in any language)."""
KEYSTEAD_VALIDATOR = "keystead_checksum"
MAX_PREFIX = 16
"""The longest readable head a redacted finding shows."""
_KEY_MIN = 1 + 1 + 27 + 6  # prefix, underscore, body, checksum
_GENERIC = 2
"""Rank of a rule of kind ``generic``: the last to win a place."""


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    pattern: re.Pattern[str]
    allow: tuple[re.Pattern[str], ...]
    check: Callable[[str], bool] | None
    rank: int


@dataclass(frozen=True, slots=True)
class _Hit:
    rule: int
    secret: str
    start: int
    end: int
    decoded_from: str | None = None


def shannon(text: str) -> float:
    """Shannon entropy in bits per character."""
    size = len(text)
    if not size:
        return 0.0
    return -sum(n / size * math.log2(n / size) for n in Counter(text).values())


class Scanner:
    """Scans text or file contents with a set of rules. Build one and reuse it
    (one per thread: the Hyperscan scratch space is not shared safely):
    construction compiles every rule (a fifth of a second for the shipped
    rules the first time, milliseconds once the prefilter is cached)."""

    def __init__(
        self,
        rules: Iterable[Rule],
        *,
        decode_base64: bool = True,
        cache_dir: Path | Literal[False] | None = None,
    ) -> None:
        """``cache_dir``: where compiled prefilter databases are kept between
        runs (default :func:`~keystead.scan.prefilter.default_cache_dir`);
        ``False`` compiles every time and writes nothing."""
        self.rules = tuple(rules)
        self.decode_base64 = decode_base64
        self._compiled = [_compile(rule) for rule in self.rules]
        directory = default_cache_dir() if cache_dir is None else cache_dir or None
        self._prefilter = build_prefilter(self.rules, cache_dir=directory)

    @property
    def prefilter(self) -> str:
        """``hyperscan`` or ``keywords``: which gate this scanner uses."""
        return self._prefilter.name

    def scan_text(self, text: str, path: str) -> list[Finding]:
        """Findings in ``text``, positioned within it, reported as at ``path``;
        none on a line holding ``keystead:allow``."""
        return self._findings(text, self._hits(text), path)

    def scan_bytes(self, data: bytes, path: str) -> list[Finding]:
        """Findings in a file's contents. Invalid UTF-8 is replaced, not fatal;
        a Jupyter notebook is scanned cell by cell."""
        if path.lower().endswith(NOTEBOOK_SUFFIX):
            cells = notebook_texts(data)
            if cells is not None:
                return self._scan_notebook(data.decode("utf-8", "replace"), cells, path)
        text = data.decode("utf-8", "replace")
        return self._findings(text, self._hits(text), path)

    # --- matching -----------------------------------------------------------

    def _hits(self, text: str, *, nested: bool = False) -> list[_Hit]:
        gate = self._prefilter.candidates(text)
        hits: list[_Hit] = []
        refuted: set[tuple[int, int]] = set()
        for index in gate.rules:
            ends = gate.ends.get(index)
            for start, stop in _line_windows(text, ends) if ends else ((0, len(text)),):
                hits.extend(self._rule_hits(index, text, refuted, start, stop))
        if self.decode_base64 and gate.base64 and not nested:
            runs = gate.base64_ends
            for pos, endpos in _line_windows(text, runs) if runs else ((0, len(text)),):
                for start, end, decoded in base64_segments(text, pos, endpos):
                    for inner in self._hits(decoded, nested=True):
                        hits.append(_Hit(inner.rule, inner.secret, start, end, "base64"))
                        # what the segment holds says more than a generic rule on it
                        refuted.add((start, end))
        if refuted:
            hits = [hit for hit in hits if not self._generic_on(hit, refuted)]
        return hits

    def _generic_on(self, hit: _Hit, spans: set[tuple[int, int]]) -> bool:
        return (
            hit.decoded_from is None
            and self._compiled[hit.rule].rank == _GENERIC
            and (hit.start, hit.end) in spans
        )

    def _rule_hits(
        self, index: int, text: str, refuted: set[tuple[int, int]], pos: int, endpos: int
    ) -> Iterable[_Hit]:
        """The rule's matches in ``text[pos:endpos]`` that pass its checks.
        The span of a match a proving validator rejects goes in ``refuted``: a
        value shaped like a checksummed token whose checksum is wrong is a
        decoy or a typo, and a generic rule must not report it either."""
        compiled = self._compiled[index]
        rule = compiled.rule
        for match in compiled.pattern.finditer(text, pos, endpos):
            secret = match.group(rule.secret_group)
            if not secret:
                continue
            start = match.start(rule.secret_group)
            if compiled.check is not None and not compiled.check(secret):
                offset = _keystead_tail(secret) if rule.validator == KEYSTEAD_VALIDATOR else None
                if offset is None:
                    if compiled.rank == 0:
                        refuted.add((start, start + len(secret)))
                    continue
                secret, start = secret[offset:], start + offset
            if rule.entropy is not None and shannon(secret) < rule.entropy:
                continue
            if any(placeholder.search(secret) for placeholder in compiled.allow):
                continue
            yield _Hit(index, secret, start, start + len(secret))

    # --- reporting ----------------------------------------------------------

    def _findings(
        self, text: str, hits: list[_Hit], path: str, *, honour_allow: bool = True
    ) -> list[Finding]:
        """Hits in position order, deduplicated, with 1-based line and column."""
        hits.sort(key=lambda hit: (hit.start, self._compiled[hit.rule].rank, hit.rule))
        findings: list[Finding] = []
        seen: set[tuple[int, int, str, str | None]] = set()
        allowed: dict[int, bool] = {}
        line, line_start, counted = 1, 0, 0
        for hit in hits:
            key = (hit.start, hit.end, hit.secret, hit.decoded_from)
            if key in seen:
                continue
            seen.add(key)
            line += text.count("\n", counted, hit.start)
            counted = hit.start
            line_start = text.rfind("\n", 0, hit.start) + 1
            line_end = text.find("\n", hit.start)
            line_end = len(text) if line_end == -1 else line_end
            if honour_allow:
                if line_start not in allowed:
                    allowed[line_start] = text.find(ALLOW_MARKER, line_start, line_end) != -1
                if allowed[line_start]:
                    continue
            rule = self._compiled[hit.rule].rule
            findings.append(
                Finding(
                    rule_id=rule.id,
                    description=rule.description,
                    secret=hit.secret,
                    path=path,
                    line=line,
                    column=hit.start - line_start + 1,
                    end_column=min(hit.end, line_end) - line_start + 1,
                    validation=rule.validation,
                    prefix=_prefix(rule, hit.secret),
                    decoded_from=hit.decoded_from,
                )
            )
        return findings

    def _scan_notebook(self, raw: str, cells: list[str], path: str) -> list[Finding]:
        """Scan each cell's text, then place each finding at the spot in the
        notebook file where its text is stored (JSON-escaped)."""
        placed: list[_Hit] = []
        cursor: dict[str, int] = {}
        for cell in cells:
            for hit in self._hits(cell):
                line_start = cell.rfind("\n", 0, hit.start) + 1
                line_end = cell.find("\n", hit.start)
                if (
                    cell.find(ALLOW_MARKER, line_start, line_end if line_end != -1 else len(cell))
                    != -1
                ):
                    continue
                needle = cell[hit.start : hit.end].split("\n", 1)[0]
                start, length = _find_escaped(raw, needle, cursor.get(needle, 0))
                cursor[needle] = start + 1
                placed.append(_Hit(hit.rule, hit.secret, start, start + length, hit.decoded_from))
        return self._findings(raw, placed, path, honour_allow=False)


def _line_windows(text: str, ends: list[int]) -> list[tuple[int, int]]:
    """The lines holding the given match ends, merged, each with its newline
    (so a lookahead sees what follows the line, as on the whole text)."""
    windows: list[tuple[int, int]] = []
    covered = -1
    for end in sorted(set(ends)):
        last = end - 1  # the match's last character
        if last < covered:
            continue
        begin = text.rfind("\n", 0, last) + 1
        stop = text.find("\n", last)
        stop = len(text) if stop == -1 else stop + 1
        windows.append((begin, stop))
        covered = stop
    return windows


def _compile(rule: Rule) -> _Compiled:
    check = VALIDATORS[rule.validator] if rule.validator is not None else None
    if rule.kind == "generic":
        rank = _GENERIC
    elif rule.proven:
        rank = 0
    else:
        rank = 1
    return _Compiled(
        rule=rule,
        pattern=re.compile(rule.regex),
        allow=tuple(re.compile(placeholder) for placeholder in rule.allow),
        check=None if check is None else _guarded(check),
        rank=rank,
    )


def _guarded(check: Callable[[str], bool]) -> Callable[[str], bool]:
    """A validator that raises on a strange input rejects it: one odd
    string never stops a scan."""

    def guarded(secret: str) -> bool:
        try:
            return bool(check(secret))
        except Exception:
            return False

    return guarded


def _keystead_tail(secret: str) -> int | None:
    """Where a valid Keystead key starts inside a match that took an
    identifier's tail as part of its prefix (``my_var_ks_...``), if anywhere."""
    position = secret.find("_")
    while position != -1 and len(secret) - position - 1 >= _KEY_MIN:
        if keyformat.parse(secret[position + 1 :]) is not None:
            return position + 1
        position = secret.find("_", position + 1)
    return None


def _prefix(rule: Rule, secret: str) -> str:
    """The readable head a redacted finding keeps: a Keystead key's prefix,
    else the longest keyword the secret starts with (``ghp_``, ``AKIA``)."""
    if rule.validator == KEYSTEAD_VALIDATOR:
        parsed = keyformat.parse(secret)
        return f"{parsed.prefix}_"[:MAX_PREFIX] if parsed is not None else ""
    lowered = secret.lower()
    best = ""
    for keyword in rule.keywords:
        fits = len(best) < len(keyword) <= MAX_PREFIX and len(secret) >= len(keyword) + 8
        if fits and lowered.startswith(keyword):
            best = secret[: len(keyword)]
    return best


def _find_escaped(raw: str, needle: str, after: int) -> tuple[int, int]:
    """Where ``needle`` is stored in a notebook's JSON text, searching from
    ``after`` first, then from the start; the file's start when nowhere."""
    for begin in (after, 0):
        for form in json_escaped(needle):
            position = raw.find(form, begin)
            if position != -1:
                return position, len(form)
    return 0, 0


__all__ = ["ALLOW_MARKER", "Scanner", "shannon"]
