from __future__ import annotations

import pytest

from keystead.scan._lines import single_line
from keystead.scan.rules import load_rules


@pytest.mark.parametrize(
    ("regex", "expected"),
    [
        (r"abc", True),
        (r"a[ \t]{0,5}=\S+", True),
        (r"^key\b[^\n]+", True),
        (r"x(?=[^\s])", True),
        (r"a\sb", False),
        (r"a.b", True),
        (r"(?s)a.b", False),
        (r"a(?s:.)b", False),
        (r"a[^x]b", False),
        (r"a\Db", False),
        (r"a\Wb", False),
        (r"[\x00-\x7f]", False),
        (r"a|b\n", False),
        (r"token$", False),
        (r"\Atoken", False),
        (r"(a)\1", False),
        (r"a(?=\n)", False),
        (r"(", False),
    ],
)
def test_single_line_says_false_whenever_a_match_may_touch_a_newline(
    regex: str, expected: bool
) -> None:
    assert single_line(regex) is expected


def test_the_busiest_shipped_rules_run_on_lines_only() -> None:
    rules = {rule.id: rule for rule in load_rules()}
    assert single_line(rules["keystead-key"].regex)
    assert single_line(rules["generic-secret-assignment"].regex)
    assert not single_line(rules["private-key"].regex)
