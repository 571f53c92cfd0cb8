from __future__ import annotations

from pathlib import Path

import pytest

from keystead.errors import ValidationError
from keystead.scan.rules import load_rules, parse_rules

GOOD = """
[[rules]]
id = "acme-token"
description = "Acme API token"
regex = 'acme_tok_(?P<secret>[0-9a-f]{32})'
keywords = ["ACME_TOK_"]
entropy = 3.0
kind = "acme"
allow = ['^0+$']
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, "utf-8")
    return path


def test_the_shipped_rules_load_and_hold_the_keystead_key_rule() -> None:
    rules = load_rules()
    rule = rules.get("keystead-key")
    assert rule is not None
    assert rule.validator == "keystead_checksum"
    assert rule.validation == "checksum"
    assert len(rules) >= 40
    assert "keystead/scan/rules.toml" in rules.sources


def test_a_user_file_adds_rules_with_lowercased_keywords_and_defaults(tmp_path: Path) -> None:
    rules = load_rules([_write(tmp_path, GOOD)])
    rule = rules.get("acme-token")
    assert rule is not None
    assert rule.keywords == ("acme_tok_",)
    assert rule.secret_group == "secret"
    assert rule.entropy == 3.0
    assert rule.allow == ("^0+$",)
    assert rule.validation == "entropy"
    assert list(rules)[-1] is rule


def test_a_user_rule_with_a_built_in_id_replaces_it_in_place(tmp_path: Path) -> None:
    builtin = [rule.id for rule in load_rules()]
    override = GOOD.replace('id = "acme-token"', 'id = "keystead-key"')
    rules = load_rules([_write(tmp_path, override)])
    assert [rule.id for rule in rules] == builtin
    rule = rules.get("keystead-key")
    assert rule is not None and rule.kind == "acme" and rule.validator is None


def test_builtin_false_loads_only_the_users_rules(tmp_path: Path) -> None:
    rules = load_rules([_write(tmp_path, GOOD)], builtin=False)
    assert [rule.id for rule in rules] == ["acme-token"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (('kind = "acme"', 'validator = "no_such_check"'), "validator", "names no known validator"),
        (("[0-9a-f]{32}", "[0-9a-f"), "regex", "not a valid regular expression"),
        (('kind = "acme"', 'kind = "acme"\nseverity = "high"'), "severity", "is not a rule field"),
        (('description = "Acme API token"\n', ""), "description", "is required"),
        (("entropy = 3.0", "entropy = 9.5"), "entropy", "between 0 and 8"),
        (("entropy = 3.0", 'entropy = "high"'), "entropy", "must be a number"),
        (('keywords = ["ACME_TOK_"]', 'keywords = "acme"'), "keywords", "list of strings"),
        (('keywords = ["ACME_TOK_"]', 'keywords = ["clé"]'), "keywords", "ASCII"),
        (("allow = ['^0+$']", "allow = ['(']"), "allow", "not a valid regular expression"),
        (("acme_tok_(?P<secret>[0-9a-f]{32})", "x*"), "regex", "matches the empty string"),
        (('kind = "acme"', 'secret_group = "token"'), "secret_group", "names no group"),
        (('kind = "acme"', "secret_group = 4"), "secret_group", "from 0 to 1"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_file_rule_and_field(
    tmp_path: Path, change: tuple[str, str], field: str, words: str
) -> None:
    old, new = change
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ValidationError) as caught:
        load_rules([path])
    message = str(caught.value)
    assert str(path) in message
    assert "'acme-token'" in message
    assert f"field {field!r}" in message
    assert words in message
    assert caught.value.field == f"rules[0].{field}"


def test_a_file_that_is_not_toml_or_not_rules_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not valid TOML"):
        load_rules([_write(tmp_path, "[[rules]\nid=")])
    with pytest.raises(ValidationError, match="unknown top-level key 'rule'"):
        parse_rules('[[rule]]\nid = "x"\n')
    with pytest.raises(ValidationError, match="is used by an earlier rule"):
        parse_rules(GOOD + GOOD)
    with pytest.raises(ValidationError, match=r"rule 'Acme Token': field 'id'"):
        parse_rules(GOOD.replace('id = "acme-token"', 'id = "Acme Token"'))


def test_a_missing_rules_file_is_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="can not be read"):
        load_rules([tmp_path / "absent.toml"])
