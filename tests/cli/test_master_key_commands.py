"""``keystead master-key`` and the master key at init and serve: local by nature."""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from keystead.keyring.file import FileKeyring
from keystead.service.master_keys import CHECK_SETTING
from softhsm import PIN, Hsm, needs_softhsm2, throwaway_hsm

from ._support import Cli


def _key_file(tmp_path: Path) -> Path:
    return tmp_path / "keystead-master-key.secret"


def test_init_creates_a_private_master_key_and_says_so(cli: Cli, tmp_path: Path) -> None:
    result = cli.ok("init")

    path = _key_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(path) in result.stderr
    assert path.read_text() not in result.output


def test_status_and_rotate_answer_json(ready_local: Cli, tmp_path: Path) -> None:
    before = ready_local.json("master-key", "status")
    rotated = ready_local.json("master-key", "rotate")
    after = ready_local.json("master-key", "status")

    url = f"file://{_key_file(tmp_path)}"
    assert before == {
        "url": url,
        "present": True,
        "read_only": False,
        "current_version": 1,
        "versions": [1],
        "checked": True,
        "check_version": 1,
        "references": {},
        "legacy": {},
    }
    assert rotated == {**before, "current_version": 2, "versions": [1, 2]}
    assert after == rotated
    human = ready_local.ok("master-key", "status").stdout
    assert "1, 2" in human
    printed = ready_local.everything_printed()
    for entry in json.loads(_key_file(tmp_path).read_text())["keys"]:
        assert entry["key"] not in printed


def test_init_if_needed_gives_an_older_store_its_master_key(
    ready_local: Cli, tmp_path: Path
) -> None:
    _key_file(tmp_path).unlink()  # as if initialised before master keys existed ...
    with sqlite3.connect(tmp_path / "cli.db") as db:  # ... so no check recorded either
        db.execute("DELETE FROM ks_settings WHERE name = ?", (CHECK_SETTING,))

    result = ready_local.ok("init", "--if-needed")

    assert str(_key_file(tmp_path)) in result.stderr
    assert ready_local.json("master-key", "status")["checked"] is True


def _hook(cli: Cli) -> str:
    created = cli.json(
        "webhooks", "create", "--url", "https://hooks.example.test/in", "--event", "*"
    )
    return str(created["secret"])


def test_rotate_rewrap_and_retire(ready_local: Cli, tmp_path: Path) -> None:
    secrets = [_hook(ready_local) for _ in range(3)]
    ready_local.json("master-key", "rotate")

    status = ready_local.json("master-key", "status")
    assert status["references"] == {"1": {"webhook_secret": 3}}
    human = ready_local.ok("master-key", "status").stdout
    assert "3 webhook_secret" in human and "1 store_check" in human
    refused = ready_local.fails(1, "master-key", "retire", "1", "--yes")
    assert "still wraps 1 store_check, 3 webhook_secret" in refused.stderr
    assert "rewrap" in refused.stderr

    done = ready_local.json("master-key", "rewrap", "--batch", "2")

    assert done["current_version"] == 2
    assert done["rewrapped"] == {
        "secret_version": 0,
        "webhook_secret": 3,
        "webhook_old_secret": 0,
        "pickup": 0,
        "transit_key_version": 0,
        "token_signing_key": 0,
        "server_secret": 0,
    }
    assert done["before"] == {"1": {"webhook_secret": 3}}
    assert done["after"] == {"2": {"webhook_secret": 3}}
    assert done["check_rewrapped"] is True
    assert "webhook_secret" in ready_local.ok("master-key", "rewrap").stdout  # nothing left
    retired = ready_local.json("master-key", "retire", "1", "--yes")
    assert (retired["versions"], retired["check_version"]) == ([2], 2)
    assert [e["version"] for e in json.loads(_key_file(tmp_path).read_text())["keys"]] == [2]
    current = ready_local.fails(1, "master-key", "retire", "2", "--yes")
    assert "current" in current.stderr
    unknown = ready_local.fails(1, "master-key", "retire", "5", "--yes")
    assert "no master key version 5" in unknown.stderr
    printed = ready_local.everything_printed()
    for secret in secrets:
        assert secret.removeprefix("whsec_") not in printed.replace(secret, "")


def test_retire_is_refused_for_a_read_only_keyring(
    ready_local: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = json.loads(_key_file(tmp_path).read_text())["keys"]
    value = ",".join(f"{k['version']}:{k['key']}" for k in keys)
    monkeypatch.setenv("KS_TEST_MASTER", value + ",2:" + "A" * 43 + "=")
    monkeypatch.setenv("KEYSTEAD_MASTER_KEY_URL", "env://KS_TEST_MASTER")

    assert ready_local.json("master-key", "rewrap")["check_rewrapped"] is True
    result = ready_local.fails(1, "master-key", "retire", "1", "--yes")

    assert "read-only" in result.stderr and "remove '1:...' from KS_TEST_MASTER" in result.stderr
    assert "A" * 43 not in ready_local.everything_printed()


@pytest.mark.parametrize("command", ["status", "rotate", "rewrap", "retire"])
def test_master_key_commands_are_local_only(cli: Cli, command: str) -> None:
    shown = " ".join(cli.ok("master-key", command, "--help").stdout.split())
    assert "local store only" in shown.lower()

    extra = ["1", "--yes"] if command == "retire" else []
    result = cli.fails(2, "--url", "http://127.0.0.1:9", "master-key", command, *extra)

    assert "local store" in result.stderr


def test_serve_refuses_a_wrong_master_key_in_one_line(ready_local: Cli, tmp_path: Path) -> None:
    path = _key_file(tmp_path)
    path.unlink()
    FileKeyring(path).create()

    result = ready_local.fails(1, "serve", "--port", "9")

    assert "master key" in result.stderr and "does not match" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_refuses_a_missing_master_key(ready_local: Cli, tmp_path: Path) -> None:
    _key_file(tmp_path).unlink()

    result = ready_local.fails(1, "serve", "--port", "9")

    assert "initialised with a master key" in result.stderr


@pytest.fixture
def hsm(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hsm]:
    """Throwaway SoftHSM2 tokens (after ``cli`` cleared the KEYSTEAD_ variables)."""
    yield from throwaway_hsm(tmp_path, monkeypatch)


@needs_softhsm2
def test_init_status_and_rotate_with_the_master_key_on_a_token(
    cli: Cli, hsm: Hsm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYSTEAD_MASTER_KEY_URL", hsm.url())

    init = cli.ok("init")
    rotated = cli.json("master-key", "rotate")
    status = cli.json("master-key", "status")

    assert "generated the master key on the token pkcs11:token=keystead" in init.stderr
    assert "created the master key" not in init.stderr
    assert not _key_file(tmp_path).exists()
    assert status == {**rotated, "versions": [1, 2], "current_version": 2, "check_version": 1}
    assert status["url"] == hsm.keyring().url and status["read_only"] is False
    assert PIN not in cli.everything_printed()

    monkeypatch.setenv("KEYSTEAD_MASTER_KEY_URL", hsm.url(token="other"))
    hsm.keyring(token="other").create()
    refused = cli.fails(1, "keys", "list")
    assert "does not match the one this database" in refused.stderr
