"""SARIF 2.1.0 output, validated against the official OASIS schema (vendored)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from keystead.scan import hygiene, sarif
from keystead.scan.finding import Commit, Finding

SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
SECRET = "ghp_" + "R2d2C3po" * 4 + "Xy9Z"  # made here, so no file carries a token


@dataclass(frozen=True)
class FakeRule:
    id: str
    description: str
    kind: str


RULES: list[sarif.RuleLike] = [
    FakeRule("github-pat", "GitHub personal access token", "github"),
    FakeRule("keystead-key", "Keystead API key", "keystead"),
    *hygiene.RULES,
]


def _finding(**changes: Any) -> Finding:
    base: dict[str, Any] = {
        "rule_id": "github-pat",
        "description": "GitHub personal access token",
        "secret": SECRET,
        "path": "src/app settings.py",
        "line": 12,
        "column": 9,
        "end_column": 9 + len(SECRET),
        "validation": "checksum",
        "prefix": "ghp_",
    }
    base.update(changes)
    return Finding(**base)


def _help(kind: str) -> str:
    return f"## Respond to a {kind} leak\n1. Revoke it now."


def _validate(log: dict[str, Any]) -> None:
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(log), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_a_log_with_every_kind_of_finding_is_valid_sarif() -> None:
    commit = Commit("a" * 40, "Ada Lovelace", "ada@example.com", "2026-01-02T03:04:05+00:00")
    findings = [
        _finding(),
        _finding(path="old.py", commit=commit, decoded_from="base64"),
        *hygiene.check(["deploy/.env"]),
        _finding(rule_id="custom-rule", description="A rule from an older rules file"),
    ]

    log = sarif.to_sarif(findings, RULES, help_for=_help, root_uri="file:///work/repo/")

    _validate(log)
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids[:2] == ["github-pat", "keystead-key"] and ids[-1] == "custom-rule"
    assert driver["rules"][0]["help"]["text"] == _help("github")
    results = run["results"]
    assert [r["ruleId"] for r in results] == [f.rule_id for f in findings]
    for result in results:
        assert ids[result["ruleIndex"]] == result["ruleId"]
    first = results[0]
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {
        "uri": "src/app%20settings.py",
        "uriBaseId": "%SRCROOT%",
    }
    assert location["region"] == {
        "startLine": 12,
        "startColumn": 9,
        "endLine": 12,
        "endColumn": 9 + len(SECRET),
    }
    assert results[1]["properties"]["commit"]["sha"] == "a" * 40
    assert "region" not in results[2]["locations"][0]["physicalLocation"]  # a whole file
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///work/repo/"


def test_the_secret_never_appears_unless_asked() -> None:
    findings = [_finding()]
    hidden = json.dumps(sarif.to_sarif(findings, RULES, help_for=_help), ensure_ascii=False)
    shown = json.dumps(sarif.to_sarif(findings, RULES, help_for=_help, show_secrets=True))

    assert SECRET not in hidden
    assert findings[0].redacted in hidden
    assert SECRET in shown


def test_partial_fingerprints_are_stable_across_line_moves() -> None:
    before = sarif.to_sarif([_finding(line=3)], RULES, help_for=_help)
    after = sarif.to_sarif([_finding(line=40, column=1)], RULES, help_for=_help)
    other_path = sarif.to_sarif([_finding(path="elsewhere.py")], RULES, help_for=_help)

    def fingerprint(log: dict[str, Any]) -> str:
        value: str = log["runs"][0]["results"][0]["partialFingerprints"][sarif.FINGERPRINT_KEY]
        return value

    assert fingerprint(before) == fingerprint(after) == _finding().fingerprint
    assert fingerprint(other_path) != fingerprint(before)


@pytest.mark.parametrize("broken", ["no-version", "bad-region"])
def test_the_schema_check_would_catch_a_broken_log(broken: str) -> None:
    """The validation above is not vacuous: the same schema rejects a broken log."""
    log = sarif.to_sarif([_finding()], RULES, help_for=_help)
    if broken == "no-version":
        del log["version"]
    else:
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SCHEMA).validate(log)
