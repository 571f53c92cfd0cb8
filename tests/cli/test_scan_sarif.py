"""``keystead scan --format sarif`` end to end, checked with the official schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from scan.gitrepo import Repo

from ._scan_support import keystead_key
from ._support import Cli

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "scan" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")
)


def test_sarif_from_a_git_scan_is_valid_and_carries_no_secret(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Repo(tmp_path / "repo")
    key = keystead_key()
    aws_id = "AKIA" + "QZ7XK2LM4PN6RT3W"
    repo.write("deploy/creds.ini", f"[prod]\naws_access_key_id = {aws_id}\nkey = {key}\n")
    repo.write(".env", "DEBUG=1\n")
    sha = repo.commit("deploy")
    monkeypatch.chdir(repo.root)

    result = cli.run("scan", "--git", "--format", "sarif")

    assert result.exit_code == 1
    assert key not in result.stdout and aws_id not in result.stdout
    log = json.loads(result.stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    (run,) = log["runs"]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert {"keystead-key", "aws-access-key-id", "tracked-env-file"} <= rules.keys()
    assert rules["keystead-key"]["help"]["text"].strip()  # the response procedure
    by_rule = {r["ruleId"]: r for r in run["results"]}
    keystead_result = by_rule["keystead-key"]
    region = keystead_result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (3, 7)
    assert keystead_result["properties"]["commit"]["sha"] == sha
    assert by_rule["tracked-env-file"]["properties"]["commit"]["sha"] == sha
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.root.resolve().as_uri() + "/"
    fingerprints = json.loads(cli.run("scan", "--git", "--json").stdout)["findings"]
    assert {r["partialFingerprints"]["keystead/v1"] for r in run["results"]} == {
        f["fingerprint"] for f in fingerprints
    }


def test_sarif_with_no_findings_is_valid(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    result = cli.ok("scan", "ok.py", "--format", "sarif")
    log = json.loads(result.stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    assert log["runs"][0]["results"] == []
