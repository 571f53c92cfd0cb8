"""``keystead scan --explain``: the response procedure for a finding."""

from __future__ import annotations

import json
from pathlib import Path

from ._scan_support import keystead_key
from ._support import Cli


def test_explain_a_rule_id(cli: Cli) -> None:
    data = cli.json("scan", "--explain", "aws-access-key-id")
    assert data["rule_id"] == "aws-access-key-id"
    assert data["kind"] == "aws"
    assert data["procedure"]["title"]
    assert any("IAM" in step or "access key" in step for step in data["procedure"]["steps"])
    table = cli.ok("scan", "--explain", "aws-access-key-id").stdout
    assert "aws-access-key-id" in table


def test_explain_a_fingerprint_from_a_previous_output(cli: Cli, tmp_path: Path) -> None:
    key = keystead_key()
    (tmp_path / "conf.py").write_text(f"KEY = '{key}'\n", encoding="utf-8")
    (finding,) = json.loads(cli.run("scan", "conf.py", "--json").stdout)["findings"]

    data = cli.json("scan", "conf.py", "--explain", finding["fingerprint"][:12])

    assert data["rule_id"] == "keystead-key"
    assert data["kind"] == "keystead"
    assert data["finding"]["path"] == "conf.py"
    assert key not in json.dumps(data)


def test_explain_a_kind_and_a_hygiene_rule(cli: Cli) -> None:
    assert cli.json("scan", "--explain", "stripe")["kind"] == "stripe"
    assert cli.json("scan", "--explain", "tracked-env-file")["procedure"]["steps"]


def test_explain_something_unknown_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    assert "neither a rule id" in cli.fails(2, "scan", "--explain", "no-such-thing").stderr
    (tmp_path / "clean.py").write_text("x = 1\n", encoding="utf-8")
    missing = cli.fails(2, "scan", "clean.py", "--explain", "deadbeefdeadbeef")
    assert "no finding with fingerprint" in missing.stderr
