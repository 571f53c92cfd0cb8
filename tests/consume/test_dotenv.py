"""Env files: the dotenv syntax ``keystead run --env-file`` reads, and what
``secrets export --format dotenv`` writes reads back exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from keystead.consume.dotenv import dotenv_value, parse_env, read_env_file, write_dotenv
from keystead.errors import ValidationError


def pairs(text: str) -> dict[str, str]:
    return {line.name: line.value for line in parse_env(text)}


def test_the_common_dotenv_syntax() -> None:
    text = """
# payments
STRIPE_KEY=keystead://secret/payments#stripe_key
export LOG_LEVEL=info   # trailing comment
EMPTY=
SPACED =  some value  
SINGLE='kept: $HOME \\n # not a comment'
DOUBLE="tab\\tnew\\nquote\\" slash\\\\ dollar\\$ other\\q"
MULTI="line one
line two"
HASH=a#b
"""
    assert pairs(text) == {
        "STRIPE_KEY": "keystead://secret/payments#stripe_key",
        "LOG_LEVEL": "info",
        "EMPTY": "",
        "SPACED": "some value",
        "SINGLE": "kept: $HOME \\n # not a comment",
        "DOUBLE": 'tab\tnew\nquote" slash\\ dollar$ other\\q',
        "MULTI": "line one\nline two",
        "HASH": "a#b",
    }


def test_line_numbers_follow_multi_line_values() -> None:
    lines = parse_env('A="x\ny"\nB=2\n')
    assert [(line.name, line.line) for line in lines] == [("A", 1), ("B", 3)]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("NOEQUALS\n", "expected NAME=value"),
        ("1ABC=x\n", "not an environment variable name"),
        ("A B=x\n", "not an environment variable name"),
        ("A=1\nA=2\n", "A is defined twice"),
        ('A="open\n', "not closed"),
        ("A='x' trailing\n", "after the closing quote"),
    ],
)
def test_errors_name_the_line_never_the_value(text: str, problem: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_env(text, source=".env")
    assert problem in raised.value.detail
    assert ".env, line" in raised.value.detail


def test_a_value_is_never_in_an_error() -> None:
    with pytest.raises(ValidationError) as raised:
        parse_env("A='sk_live_secret\n")
    assert "sk_live_secret" not in raised.value.detail


def test_reading_a_file(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes("\ufeffA=1\r\nB='two'\r\n".encode())
    assert [(x.name, x.value) for x in read_env_file(path)] == [("A", "1"), ("B", "two")]
    with pytest.raises(ValidationError, match="cannot read"):
        read_env_file(tmp_path / "missing")
    (tmp_path / "bin").write_bytes(b"A=\xff\n")
    with pytest.raises(ValidationError, match="not UTF-8"):
        read_env_file(tmp_path / "bin")


HARD_VALUES = [
    "plain",
    "",
    "with space",
    "it's",
    'say "hi"',
    "$HOME ${PATH} `id` $(id)",
    "back\\slash\\n",
    "line\nbreak\r\nwindows",
    "both ' and \" and $ and \\",
    " #not a comment",
    "ünïcödé ключ",
]


@pytest.mark.parametrize("value", HARD_VALUES)
def test_what_is_written_reads_back_exactly(value: str) -> None:
    assert pairs(write_dotenv([("NAME", value)])) == {"NAME": value}


def test_single_quotes_when_they_keep_the_value_as_written() -> None:
    assert dotenv_value("$HOME") == "'$HOME'"
    assert dotenv_value("it's") == '"it\'s"'
