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
import hashlib
import os
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from keystead.scan._lines import single_line
from keystead.scan.rules import Rule

BASE64_MIN = 32
"""Shortest base64 run worth decoding: 24 bytes of text."""
BASE64_GATE = rb"(?:^|[^A-Za-z0-9+/])[A-Za-z0-9+/]{%d}" % BASE64_MIN
"""Matches once per run (at its 32nd character), so a megabyte of base64 on
one line is one report, not a million."""


@dataclass(frozen=True, slots=True)
class Gate:
    """What the prefilter says of one text."""

    rules: list[int]
    """Indexes of the rules that may match."""
    base64: bool
    """Whether a base64 run long enough to decode is present."""
    base64_ends: list[int] | None = None
    """Where such runs reach 32 characters, when known: only those lines
    need the base64 regex."""
    ends: dict[int, list[int]] = field(default_factory=dict)
    """For some of ``rules``, whose matches never span lines: the offsets
    (in characters) where candidate matches end. Only those lines need
    Python's regex."""


class Prefilter(Protocol):
    """Answers, for one text, which rules may match where."""

    name: str

    def candidates(self, text: str) -> Gate: ...


class KeywordPrefilter:
    """Keyword gating with the standard library only."""

    name = "keywords"

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._always = [i for i, rule in enumerate(rules) if not rule.keywords]
        self._keywords: dict[bytes, list[int]] = {}
        for index, rule in enumerate(rules):
            for keyword in rule.keywords:
                self._keywords.setdefault(keyword.encode("ascii"), []).append(index)

    def candidates(self, text: str) -> Gate:
        lowered = gate_bytes(text).lower()
        found = set(self._always)
        for keyword, indexes in self._keywords.items():
            if keyword in lowered:
                found.update(indexes)
        return Gate(sorted(found), True)


LOCATE, EXACT, PREFILTER, KEYWORDS = "L", "E", "P", "-"
"""How each rule's regex is in the database: reporting every match end (a
rule whose matches never span lines), once per text exactly, once per text in
prefilter mode (a superset), or not at all (gated by keywords alone)."""


class HyperscanPrefilter:
    """Rule regexes, keywords (caseless) and the base64 gate in one Hyperscan
    database. A regex Hyperscan can not take exactly (a lookaround, a
    backreference) goes in its prefilter mode, which matches a superset; one
    it can not take at all is gated by its keywords alone."""

    name = "hyperscan"

    def __init__(self, rules: Sequence[Rule], *, cache_dir: Path | None = None) -> None:
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
        wanted = "".join(LOCATE if single_line(rule.regex) else EXACT for rule in rules)
        cached = _Cache(cache_dir, hyperscan, regexes, literals, wanted) if cache_dir else None
        loaded = cached.load() if cached else None
        if loaded is None:
            self._database, self._modes = self._build_all(regexes, literals, wanted)
            if cached:
                cached.store(self._database, self._modes)
        else:
            self._database, self._modes = loaded
        self._ascii_only = [_UNICODE_CLASS.search(rule.regex) is not None for rule in rules]

    def _flags(self, mode: str) -> int:
        hs = self._hs
        flags: dict[str, int] = {
            LOCATE: 0,
            EXACT: hs.HS_FLAG_SINGLEMATCH,
            PREFILTER: hs.HS_FLAG_SINGLEMATCH | hs.HS_FLAG_PREFILTER,
        }
        return flags[mode]

    def _build_all(
        self, regexes: list[bytes], literals: list[bytes], wanted: str
    ) -> tuple[Any, str]:
        """The database, and each rule's mode in it."""
        try:
            return self._build(regexes, literals, wanted), wanted
        except self._hs.error:
            pass
        # find the regexes Hyperscan refuses, one by one, and the best mode each takes
        modes = []
        for index, mode in enumerate(wanted):
            tries = (LOCATE, EXACT, PREFILTER) if mode == LOCATE else (EXACT, PREFILTER)
            taken = [m for m in tries if self._accepts(regexes[index], self._flags(m))][:1]
            modes.append(taken[0] if taken else KEYWORDS)
        return self._build(regexes, literals, "".join(modes)), "".join(modes)

    def _build(self, regexes: list[bytes], literals: list[bytes], modes: str) -> Any:
        rules = [i for i in range(self._count) if modes[i] != KEYWORDS]
        single = self._hs.HS_FLAG_SINGLEMATCH
        return self._compile(
            [regexes[i] for i in rules] + literals + [BASE64_GATE],
            [*rules, *range(self._count, self._base64_id + 1)],
            [self._flags(modes[i]) for i in rules]
            + [single | self._hs.HS_FLAG_CASELESS] * len(literals)
            + [0],  # the base64 gate: every run, for its line
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

    def candidates(self, text: str) -> Gate:
        data = gate_bytes(text)
        hits: set[int] = set()
        ends: dict[int, list[int]] = {}
        modes = self._modes

        def on_match(ident: int, start: int, end: int, flags: int, context: object) -> None:
            if ident == self._base64_id or (ident < self._count and modes[ident] == LOCATE):
                ends.setdefault(ident, []).append(end)
            hits.add(ident)

        self._database.scan(data, match_event_handler=on_match)
        keyword_ok: set[int] = set(self._no_keywords)
        for ident in hits:
            if self._count <= ident < self._base64_id:
                keyword_ok.update(self._keyword_rules[ident])
        ascii_only = self._ascii_only if not text.isascii() else ()
        found = []
        located = {}
        for index in sorted(keyword_ok):
            if (ascii_only and ascii_only[index]) or modes[index] == KEYWORDS:
                found.append(index)  # the regex does not gate here
            elif index in hits:
                found.append(index)
                if index in ends:
                    located[index] = ends[index]
        return Gate(
            found, self._base64_id in hits, ends=located, base64_ends=ends.get(self._base64_id)
        )


class _Cache:
    """A compiled database on disk: loading one takes a tenth of a
    millisecond, compiling the shipped rules a fifth of a second, which a
    pre-commit hook pays on every commit. The file's name is a hash of
    everything compiled into it; a file that does not load is rebuilt."""

    def __init__(
        self, directory: Path, hs: Any, regexes: list[bytes], literals: list[bytes], wanted: str
    ) -> None:
        digest = hashlib.sha256(
            f"{_CACHE_FORMAT}|{hs.__version__}|{platform.machine()}|{wanted}".encode()
        )
        for part in (*regexes, b"|", *literals, b"|", BASE64_GATE):
            digest.update(len(part).to_bytes(4, "big") + part)
        self._hs = hs
        self._path = directory / f"prefilter-{digest.hexdigest()[:32]}.hsdb"
        self._count = len(regexes)

    def load(self) -> tuple[Any, str] | None:
        try:
            blob = self._path.read_bytes()
            header, _, serialized = blob.partition(b"\n")
            modes = header.decode("ascii")
            if len(modes) != self._count or set(modes) - {LOCATE, EXACT, PREFILTER, KEYWORDS}:
                return None
            database = self._hs.loadb(serialized, self._hs.HS_MODE_BLOCK)
            database.scratch = self._hs.Scratch(database)
        except (OSError, ValueError, self._hs.error):
            return None
        return database, modes

    def store(self, database: Any, modes: str) -> None:
        header = modes.encode("ascii")
        temporary = self._path.with_name(f".{self._path.name}.{os.getpid()}")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(header + b"\n" + self._hs.dumpb(database))
            os.replace(temporary, self._path)
        except OSError:  # a read-only home: compile every time, as without a cache
            temporary.unlink(missing_ok=True)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/keystead/scan``, else ``~/.cache/keystead/scan``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "keystead" / "scan"


_CACHE_FORMAT = 3
_UNICODE_CLASS = re.compile(r"(?<!\\)(?:\\\\)*\\[wd]")
"""``\\w`` or ``\\d``, which Python's ``re`` extends beyond ASCII."""
_GATE_ERRORS = "keystead-scan-gate"
_UNICODE_SPACES = (
    "\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
"""The characters beyond ASCII that Python's ``\\s`` matches."""
_UNICODE_SPACE = re.compile(f"[{_UNICODE_SPACES}]")
_GATE_TABLE = bytes(range(0x1C)) + b" " * 4 + bytes(range(0x20, 0x80)) + b"\x80" * 128
"""Python's ``\\s`` also takes ``\\x1c``-``\\x1f``, Hyperscan's does not: they
become spaces. Latin-1 letters become 0x80 like every other non-ASCII char."""


def _gate_replace(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return b"\x80" * (error.end - error.start), error.end


codecs.register_error(_GATE_ERRORS, _gate_replace)


def gate_bytes(text: str) -> bytes:
    """One byte per character of ``text``, for the prefilter: ASCII kept,
    whitespace (to Python) as a space, anything else as 0x80."""
    if text.isascii():
        return text.encode("ascii").translate(_GATE_TABLE)
    if any(space in text for space in _UNICODE_SPACES):
        text = _UNICODE_SPACE.sub(" ", text)
    # Latin-1 encodes most European text in C; the handler takes the rest
    return text.encode("latin-1", _GATE_ERRORS).translate(_GATE_TABLE)


_OPEN_REPEAT = re.compile(r"(?<!\\)\{,(\d+)\}")


def _dialect(regex: str) -> str:
    """Python's ``{,n}`` is PCRE's literal text: spell it ``{0,n}``."""
    return _OPEN_REPEAT.sub(r"{0,\1}", regex)


def _literal(keyword: str) -> bytes:
    """A keyword as a Hyperscan expression matching it literally."""
    return b"".join(b"\\x%02x" % byte for byte in keyword.encode("ascii"))


def build_prefilter(rules: Sequence[Rule], *, cache_dir: Path | None = None) -> Prefilter:
    """Hyperscan when it is installed, else the standard-library keyword gate.
    With ``cache_dir``, compiled databases are kept there and reused."""
    try:
        return HyperscanPrefilter(rules, cache_dir=cache_dir)
    except ImportError:
        return KeywordPrefilter(rules)


__all__ = [
    "BASE64_MIN",
    "Gate",
    "HyperscanPrefilter",
    "KeywordPrefilter",
    "Prefilter",
    "build_prefilter",
    "default_cache_dir",
    "gate_bytes",
]
