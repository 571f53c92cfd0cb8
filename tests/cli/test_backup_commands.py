"""``keystead backup`` and ``keystead restore``: the local store to a file and
back into an empty store of any kind, with --json, and one clear line and a
non-zero exit for whatever cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._support import Cli


def _fill(cli: Cli) -> dict[str, str]:
    cli.ok("init")
    api = cli.json("apis", "create", "payments", "--prefix", "acme")
    made = cli.json(
        "keys", "create", "--api", api["id"], "--owner", "cust_42", "--permission", "documents.*"
    )
    cli.ok("secrets", "put", "myapp", "api_key=-", input="sk_live_1\n")
    return {"key": made["key"], "key_id": made["id"]}


def test_backup_then_restore_into_another_store(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    filled = _fill(cli)
    file = str(tmp_path / "store.ksbk")
    taken = cli.json("backup", file)
    assert (taken["scope"], taken["encryption"], taken["database"]) == (
        "store",
        "master-key",
        "sqlite",
    )
    assert taken["tables"]["ks_keys"] == 1 and "ks_usage" not in taken["tables"]
    refused = cli.fails(2, "backup", file)
    assert "exists" in refused.stderr
    assert "Backup written" in cli.ok("backup", file, "--force", "--with-usage").stdout

    monkeypatch.setenv("KEYSTEAD_DATABASE_URL", database_url)
    restored = cli.json("restore", file)
    assert restored["tables"]["ks_keys"] == 1 and restored["with_usage"] is True
    assert cli.json("audit", "verify")["ok"] is True
    verified = cli.json("keys", "verify", filled["key"], "--permissions", "documents.read")
    assert (verified["valid"], verified["key_id"]) == (True, filled["key_id"])
    shown = cli.ok("secrets", "get", "myapp", "--field", "api_key").stdout
    assert shown.strip() == "sk_live_1"

    again = cli.fails(1, "restore", file)
    assert "not empty" in again.stderr


def test_a_passphrase_from_a_file_or_the_environment(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(cli)
    secret = tmp_path / "passphrase.txt"
    secret.write_text("correct horse battery staple\n")
    file = str(tmp_path / "offsite.ksbk")
    taken = cli.json("backup", file, "--passphrase-file", str(secret))
    assert taken["encryption"] == "passphrase"

    monkeypatch.setenv("KEYSTEAD_DATABASE_URL", f"sqlite:///{tmp_path / 'restored.db'}")
    missing = cli.fails(1, "restore", file)
    assert "protected by a passphrase" in missing.stderr
    monkeypatch.setenv("KEYSTEAD_BACKUP_PASSPHRASE", "wrong horse")
    wrong = cli.fails(1, "restore", file)
    assert "wrong passphrase" in wrong.stderr
    monkeypatch.setenv("KEYSTEAD_BACKUP_PASSPHRASE", "correct horse battery staple")
    assert cli.json("restore", file)["encryption"] == "passphrase"
    assert "correct horse" not in cli.everything_printed()


def test_bad_input_explains_itself(cli: Cli, tmp_path: Path) -> None:
    _fill(cli)
    file = tmp_path / "store.ksbk"
    cli.json("backup", str(file))
    data = file.read_bytes()
    file.write_bytes(data[: len(data) - 5])
    cut = cli.fails(1, "restore", str(file))
    assert "truncated" in cut.stderr
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello, this is not a backup at all\n")
    assert "not a Keystead backup" in cli.fails(1, "restore", str(not_a_backup)).stderr
    assert "cannot read" in cli.fails(1, "restore", str(tmp_path / "missing")).stderr
    assert (
        "no workspace"
        in cli.fails(1, "backup", str(tmp_path / "ws.ksbk"), "--workspace-id", "ws_nope").stderr
    )
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    assert (
        "passphrase is empty"
        in cli.fails(2, "backup", str(tmp_path / "p.ksbk"), "--passphrase-file", str(empty)).stderr
    )
    remote = cli.fails(2, "--url", "http://127.0.0.1:9", "backup", str(tmp_path / "r.ksbk"))
    assert "local store only" in remote.stderr
