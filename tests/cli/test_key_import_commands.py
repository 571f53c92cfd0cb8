"""``keystead keys import``: CSV and JSON lines, --dry-run, a table of failed rows,
status, and bad files, locally and against a server."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ._support import Cli


def test_import_jsonl_and_csv_then_verify(cli_any: Cli, tmp_path: Path) -> None:
    cli = cli_any
    cli.json("init")
    api = cli.json("apis", "create", "old")
    digest = hashlib.sha256(b"legacy-cli-key-0001").hexdigest()
    lines = [
        {"key": "imp_live_cliKey0123456789", "api_id": api["id"], "external_id": "e1"},
        {"key_hash": {"scheme": "sha256", "value": digest}, "api_id": api["id"]},
        {"key": "bad key", "api_id": api["id"]},
    ]
    jsonl = tmp_path / "keys.jsonl"
    jsonl.write_text("\n".join(json.dumps(line) for line in lines) + "\n")

    dry = cli.run("keys", "import", str(jsonl), "--dry-run", "--json")
    assert dry.exit_code == 1  # a row failed
    report = json.loads(dry.stdout)
    assert (report["valid"], report["failed"], report["imported"]) == (2, 1, 0)
    assert cli.run("keys", "verify", "imp_live_cliKey0123456789").exit_code == 1

    table = cli.run("keys", "import", str(jsonl))
    assert table.exit_code == 1
    assert "2 imported, 0 skipped" in table.stdout and "Rows not imported" in table.stdout
    assert "bad key" not in table.stdout and digest not in table.stdout
    again = json.loads(cli.run("keys", "import", str(jsonl), "--json").stdout)
    # e1 skipped; the hash without an external id is stored already: that row fails
    assert (again["skipped"], again["imported"], again["failed"]) == (1, 0, 2)

    other = hashlib.sha256(b"legacy-cli-key-0002").hexdigest()
    csv_file = tmp_path / "keys.csv"
    csv_file.write_text(
        "key_hash.scheme,key_hash.value,api_id,external_id,permissions\n"
        f'sha256,{other},{api["id"]},c1,"[""b.read""]"\n'
    )
    assert cli.json("keys", "import", str(csv_file))["imported"] == 1
    verdict = cli.json("keys", "verify", "legacy-cli-key-0002", "--permissions", "b.read")
    assert verdict["valid"] is True
    assert cli.json("keys", "verify", "imp_live_cliKey0123456789")["valid"] is True
    status = cli.json("keys", "import", "status")
    assert status["legacy"] == 1  # legacy-cli-key-0001 not used yet
    assert {s["scheme"]: s["imported"] for s in status["schemes"]} == {"key": 1, "sha256": 2}


def test_bad_files_are_messages(cli: Cli, tmp_path: Path) -> None:
    cli.json("init")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"key": "abc"}\n{not json\n')
    assert "broken.jsonl:2" in cli.fails(2, "keys", "import", str(broken)).output
    assert "cannot read" in cli.fails(2, "keys", "import", str(tmp_path / "none.csv")).output
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert "no rows" in cli.fails(2, "keys", "import", str(empty)).output
