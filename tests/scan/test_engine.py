from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest

from keystead.core import keyformat
from keystead.scan.engine import ALLOW_MARKER, Scanner, shannon
from keystead.scan.rules import load_rules

USER_RULES = """
[[rules]]
id = "acme-token"
description = "Acme API token"
regex = 'acme_tok_[0-9a-f]{32}'
keywords = ["acme_tok_"]
entropy = 3.0
kind = "acme"
allow = ['^acme_tok_0+$']
"""


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(load_rules(), cache_dir=False)


def _broken(key: str) -> str:
    """The key with its last checksum character changed."""
    last = key[-1]
    return key[:-1] + ("A" if last != "A" else "B")


def _aws_key_id() -> str:
    return "AKIA" + "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


@pytest.mark.parametrize("prefix", ["ks", "ks_live", "acme_prod_2", "x", "a" * 32])
def test_keystead_keys_of_any_prefix_are_found_with_their_prefix(
    scanner: Scanner, prefix: str
) -> None:
    key = keyformat.generate(prefix)
    text = f"import os\nKEY = '{key}'\n"
    findings = scanner.scan_text(text, "app/settings.py")
    assert [(f.rule_id, f.secret, f.line, f.column) for f in findings] == [
        ("keystead-key", key, 2, 8)
    ]
    finding = findings[0]
    assert finding.end_column == 8 + len(key)
    assert finding.validation == "checksum"
    assert finding.prefix == f"{prefix}_"[:16]
    assert finding.redacted.endswith(key[-4:])
    assert key not in repr(finding)


def test_a_key_with_a_broken_checksum_is_not_reported(scanner: Scanner) -> None:
    key = keyformat.generate("ks_live")
    text = f"token: {_broken(key)}\nother: ks_live_{'a' * 38}\n"
    assert [f for f in scanner.scan_text(text, "x.yaml") if f.rule_id == "keystead-key"] == []


def test_a_broken_checksum_is_not_reported_by_the_generic_rule_either(scanner: Scanner) -> None:
    key = keyformat.generate("ks_live")
    text = f'api_key = "{_broken(key)}"\nsecret = "{key}"\n'
    findings = scanner.scan_text(text, "settings.py")
    assert [(f.rule_id, f.line) for f in findings] == [("keystead-key", 2)]


def test_a_key_glued_to_an_identifier_is_still_found(scanner: Scanner) -> None:
    key = keyformat.generate("ks")
    findings = scanner.scan_text(f"value = my_var_{key}\n", "a.py")
    assert [(f.secret, f.column) for f in findings] == [(key, 16)]


def test_line_and_column_are_one_based_and_count_characters(scanner: Scanner) -> None:
    key = keyformat.generate("ks")
    text = f"# première ligne, accentuée\n\n\tx = «{key}» ; y = '{key}'\n"
    findings = scanner.scan_text(text, "notes.txt")
    third = text.splitlines()[2]
    assert [(f.line, f.column) for f in findings] == [
        (3, third.index(key) + 1),
        (3, third.rindex(key) + 1),
    ]


def test_inline_allow_suppresses_only_its_own_line(scanner: Scanner) -> None:
    first, second = keyformat.generate("ks"), keyformat.generate("ks")
    text = f"a = '{first}'  # {ALLOW_MARKER}\nb = '{second}'\n"
    findings = scanner.scan_text(text, "a.py")
    assert [(f.secret, f.line) for f in findings] == [(second, 2)]


def test_identical_findings_are_reported_once(tmp_path: Path) -> None:
    twice = (tmp_path / "twice.toml").write_text(
        USER_RULES + USER_RULES.replace("acme-token", "acme-2")
    )
    assert twice
    token = "acme_tok_" + secrets.token_hex(16)
    rules = load_rules([tmp_path / "twice.toml"], builtin=False)
    findings = Scanner(rules, cache_dir=False).scan_text(f"t = {token}\n", "a.py")
    # two rules, same secret at the same place: one finding, from the first rule
    assert [(f.rule_id, f.secret) for f in findings] == [("acme-token", token)]


def test_a_specific_rule_wins_over_the_generic_assignment_rule(scanner: Scanner) -> None:
    key = keyformat.generate("ks_live")
    findings = scanner.scan_text(f'api_key = "{key}"\n', "config.py")
    assert [f.rule_id for f in findings] == ["keystead-key"]


def test_user_rules_apply_entropy_and_placeholder_allowlists(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(USER_RULES, "utf-8")
    scanner = Scanner(load_rules([path], builtin=False), cache_dir=False)
    real = "acme_tok_" + secrets.token_hex(16)
    text = f"a = {real}\nb = acme_tok_{'0' * 32}\nc = acme_tok_{'ab' * 16}\n"
    findings = scanner.scan_text(text, "a.env")
    # the zeros are allowlisted, the repeated pair has 1 bit/char of entropy
    assert [(f.secret, f.line, f.validation, f.prefix) for f in findings] == [
        (real, 1, "entropy", "acme_tok_")
    ]


def test_provider_credentials_are_found_in_a_dotenv_file(scanner: Scanner, tmp_path: Path) -> None:
    key_id = _aws_key_id()
    env = tmp_path / ".env"
    env.write_bytes(f"# local settings\nAWS_ACCESS_KEY_ID={key_id}\n".encode())
    findings = scanner.scan_bytes(env.read_bytes(), ".env")
    assert [(f.rule_id, f.secret, f.line, f.column) for f in findings] == [
        ("aws-access-key-id", key_id, 2, 19)
    ]
    assert findings[0].prefix == "AKIA"


def test_base64_is_decoded_one_level_deep(scanner: Scanner) -> None:
    key = keyformat.generate("ks")
    once = base64.b64encode(f"token={key}".encode()).decode()
    twice = base64.b64encode(once.encode()).decode()
    text = f"plain: nothing\nsecret: {once}\nnested: {twice}\n"
    # the generic rule also matches `secret: <base64>`; the decoded key replaces it
    findings = scanner.scan_text(text, "k8s/secret.yaml")
    assert [(f.secret, f.line, f.column, f.end_column, f.decoded_from) for f in findings] == [
        (key, 2, 9, 9 + len(once), "base64")
    ]
    undecoded = Scanner(load_rules(), decode_base64=False, cache_dir=False).scan_text(text, "x")
    assert [f.rule_id for f in undecoded] == ["generic-secret-assignment"]
    assert undecoded[0].secret == once


def test_base64_of_binary_is_passed_over(scanner: Scanner) -> None:
    blob = base64.b64encode(secrets.token_bytes(3000)).decode()
    assert scanner.scan_text(f"data = '{blob}'\n", "a.py") == []


def _notebook(cells: list[dict[str, object]]) -> bytes:
    """As nbformat writes a notebook: indent 1, sorted keys, UTF-8 as is."""
    document = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def test_notebook_cells_and_outputs_are_scanned_at_their_line_in_the_file(
    scanner: Scanner,
) -> None:
    in_source, in_output = keyformat.generate("ks"), keyformat.generate("nb")
    allowed = keyformat.generate("ks")
    data = _notebook(
        [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Notes (déjà vu)\n", "Setup:"]},
            {
                "cell_type": "code",
                "execution_count": 1,
                "metadata": {},
                "outputs": [
                    {"name": "stdout", "output_type": "stream", "text": [f"{in_output}\n"]}
                ],
                "source": [
                    "import client\n",
                    f'client.connect(key="{in_source}")\n',
                    f"other = '{allowed}'  # {ALLOW_MARKER}",
                ],
            },
        ]
    )
    raw_lines = data.decode().splitlines()
    findings = scanner.scan_bytes(data, "analysis.ipynb")
    assert {f.secret for f in findings} == {in_source, in_output}
    for finding in findings:
        line = raw_lines[finding.line - 1]
        assert line[finding.column - 1 : finding.end_column - 1] == finding.secret


def test_a_file_named_ipynb_that_is_not_json_is_scanned_as_text(scanner: Scanner) -> None:
    key = keyformat.generate("ks")
    assert [f.line for f in scanner.scan_bytes(f"{{oops\n{key}\n".encode(), "x.ipynb")] == [2]


def test_invalid_utf8_does_not_stop_the_scan(scanner: Scanner) -> None:
    key = keyformat.generate("ks")
    data = b"\xff\xfe garbage \xc3\x28 \xa0\n" + f"k = '{key}'\n".encode() + b"\xed\xa0\x80\n"
    findings = scanner.scan_bytes(data, "mixed.txt")
    assert [(f.secret, f.line, f.column) for f in findings] == [(key, 2, 6)]


def test_hostile_input_finishes_and_still_finds_what_it_hides(scanner: Scanner) -> None:
    key = keyformat.generate("ks")
    huge_line = ("a_" + "Z" * 40 + " ") * 60_000 + f"'{key}'"  # ~2.5 MB, one line
    nested = f"token={key}".encode()
    for _ in range(30):
        nested = base64.b64encode(nested)
    deep = f"\ndeep: {nested.decode()}\n"
    noise = "\n".join("=" * 5000 + "\x00" + "é" * 100 for _ in range(50))
    text = huge_line + deep + noise
    findings = scanner.scan_text(text, "hostile.txt")
    assert [(f.secret, f.line, f.column) for f in findings] == [(key, 1, len(huge_line) - len(key))]
    garbage = secrets.token_bytes(2_000_000)
    assert isinstance(scanner.scan_bytes(garbage, "random.bin"), list)


def test_lone_surrogates_in_text_are_scanned(scanner: Scanner) -> None:
    key = keyformat.generate("ks")
    findings = scanner.scan_text(f"\ud800 {key}\n", "odd.txt")
    assert [f.column for f in findings] == [3]


def test_shannon_entropy_in_bits_per_character() -> None:
    assert shannon("") == 0.0
    assert shannon("aaaa") == 0.0
    assert shannon("abab") == 1.0
    assert shannon("0123456789abcdef") == 4.0


def test_the_compiled_prefilter_is_cached_and_a_bad_cache_file_is_rebuilt(tmp_path: Path) -> None:
    rules = load_rules()
    key = keyformat.generate("ks")
    text = f"k = '{key}'\n"
    first = Scanner(rules, cache_dir=tmp_path)
    (cached,) = tmp_path.glob("prefilter-*.hsdb")
    assert [f.secret for f in first.scan_text(text, "a")] == [key]
    assert [f.secret for f in Scanner(rules, cache_dir=tmp_path).scan_text(text, "a")] == [key]
    cached.write_bytes(b"1" * 89 + b"\nnot a database")
    rebuilt = Scanner(rules, cache_dir=tmp_path)
    assert [f.secret for f in rebuilt.scan_text(text, "a")] == [key]
    assert cached.read_bytes() != b"1" * 89 + b"\nnot a database"
    # other rules, another file
    Scanner(list(rules)[:5], cache_dir=tmp_path)
    assert len(list(tmp_path.glob("prefilter-*.hsdb"))) == 2
