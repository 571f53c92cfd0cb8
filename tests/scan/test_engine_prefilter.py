"""The Hyperscan gate must never hide a match Python's ``re`` would find:
every test compares it with the standard-library keyword gate."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from keystead.core import keyformat
from keystead.scan.engine import Scanner
from keystead.scan.finding import Finding
from keystead.scan.prefilter import HyperscanPrefilter, KeywordPrefilter, gate_bytes
from keystead.scan.rules import load_rules, parse_rules

TRICKY = r"""
[[rules]]
id = "spaced"
description = "whitespace between name and value"
regex = 'acme\s+tok\s*=\s*(?P<secret>[A-Za-z0-9]{12,20})'
keywords = ["acme"]

[[rules]]
id = "wordy"
description = "a word class Python extends to Unicode letters"
regex = 'wtok_(?P<secret>\w{12})'
keywords = ["wtok_"]

[[rules]]
id = "dotted"
description = "a bounded dot that counts characters"
regex = 'dtok(?P<secret>.{0,6}[0-9]{8})'
keywords = ["dtok"]

[[rules]]
id = "behind"
description = "a lookbehind Hyperscan takes only in prefilter mode"
regex = '(?<=btok=)(?P<secret>[0-9a-f]{16})'
keywords = ["btok="]

[[rules]]
id = "backref"
description = "a backreference"
regex = '''(?P<q>["'])rtok_(?P<secret>[0-9]{10})(?P=q)'''
keywords = ["rtok_"]

[[rules]]
id = "open-repeat"
description = "Python's {,n}"
regex = 'otok_x{,3}(?P<secret>[0-9]{10})'
keywords = ["otok_"]
"""


def _both(rules_text: str | None = None) -> tuple[Scanner, Scanner]:
    rules = list(load_rules()) if rules_text is None else parse_rules(rules_text)
    fast, plain = Scanner(rules, cache_dir=False), Scanner(rules, cache_dir=False)
    plain._prefilter = KeywordPrefilter(plain.rules)
    assert isinstance(fast._prefilter, HyperscanPrefilter)
    return fast, plain


def _keys(findings: list[Finding]) -> list[tuple[str, str, int, int]]:
    return [(f.rule_id, f.secret, f.line, f.column) for f in findings]


def test_gate_bytes_keeps_one_byte_per_character() -> None:
    text = "a\u00a0é\u2028b\ud800€"
    image = gate_bytes(text)
    assert len(image) == len(text)
    assert image == b"a \x80 b\x80\x80"


@pytest.mark.parametrize(
    ("text", "rule_id", "secret"),
    [
        ("x acme\u00a0tok\u2003= AbCdEf123456\n", "spaced", "AbCdEf123456"),
        ("wtok_éèàùâêîôûçëï\n", "wordy", "éèàùâêîôûçëï"),
        ("dtok€€€€€€12345678\n", "dotted", "€€€€€€12345678"),
        ("ü btok=0123456789abcdef\n", "behind", "0123456789abcdef"),
        ("ü x = 'rtok_0123456789'\n", "backref", "0123456789"),
        ("otok_xx0123456789\n", "open-repeat", "0123456789"),
        ("ü otok_xx0123456789\n", "open-repeat", "0123456789"),
    ],
)
def test_unicode_and_unusual_regexes_are_found_as_python_finds_them(
    text: str, rule_id: str, secret: str
) -> None:
    fast, plain = _both(TRICKY)
    expected = [(rule_id, secret)]
    assert [(f.rule_id, f.secret) for f in plain.scan_text(text, "t")] == expected
    assert [(f.rule_id, f.secret) for f in fast.scan_text(text, "t")] == expected


def _reported_value(scanner: Scanner, rng: random.Random) -> str:
    """A random value the generic assignment rule reports on its own."""
    while True:
        value = "".join(rng.choice(keyformat.ALPHABET + "+/") for _ in range(24))
        if scanner.scan_text(f"secret = '{value}'\n", "probe.py"):
            return value


def test_hyperscan_and_the_keyword_gate_agree_on_a_seeded_corpus() -> None:
    fast, plain = _both()
    rng = random.Random(16)
    sources = sorted(Path(random.__file__).parent.glob("*.py"))[:60]
    assert sources
    seeded = 0
    for number, source in enumerate(sources):
        text = source.read_text("utf-8", "replace")
        lines = text.splitlines(keepends=True)
        if number % 2 == 0:
            key = keyformat.generate(rng.choice(["ks", "acme_live", "x9"]))
            spot = rng.randrange(len(lines) + 1)
            accent = "é " if number % 4 == 0 else ""
            lines.insert(spot, f"{accent}token = '{key}'\n")
            seeded += 1
        # generic assignments, two on a line, and one on a last line with no newline
        password = _reported_value(plain, rng)
        lines.insert(rng.randrange(len(lines) + 1), f'a = {{"password": "{password}"}}\n')
        lines.insert(rng.randrange(len(lines) + 1), f"secret='{password}'; api_key='{password}'\n")
        lines.append(f"client_secret = '{password}'")
        corpus = "".join(lines)
        expected = _keys(plain.scan_text(corpus, source.name))
        assert _keys(fast.scan_text(corpus, source.name)) == expected
        keystead = [k for k in expected if k[0] == "keystead-key"]
        assert len(keystead) == (1 if number % 2 == 0 else 0)
        generic = [k for k in expected if k[0] == "generic-secret-assignment"]
        assert len(generic) >= 4
    assert seeded == 30
