"""``keystead scan --report URL`` against a real ``keystead serve``: the keys
found go to ``POST /v1/leaks``, and each is shown live, already revoked or unknown."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from serving import Server

from ._scan_support import keystead_key
from ._support import Cli
from .conftest import _new_workspace


@pytest.mark.slow
def test_report_sends_the_keys_and_shows_what_each_was(
    cli: Cli, shared_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root_key = asyncio.run(_new_workspace(shared_server, "scan-report"))
    shared_server.revealed.append(root_key)
    monkeypatch.setenv("KEYSTEAD_URL", shared_server.url)
    monkeypatch.setenv("KEYSTEAD_ROOT_KEY", root_key)
    api = cli.json("apis", "create", "billing", "--prefix", "bill")
    live = cli.json("keys", "create", "--api", api["id"], "--name", "live")
    dead = cli.json("keys", "create", "--api", api["id"], "--name", "dead")
    cli.json("keys", "revoke", dead["id"], "--yes")
    stranger = keystead_key("bill")  # well formed, never issued
    monkeypatch.delenv("KEYSTEAD_URL")  # --report alone names the server
    (tmp_path / "leak.py").write_text(
        f"A = '{live['key']}'\nB = '{dead['key']}'\nC = '{stranger}'\nD = '{live['key']}'\n",
        encoding="utf-8",
    )

    result = cli.run("scan", "leak.py", "--report", shared_server.url, "--json")

    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["reported"]["url"] == shared_server.url
    rows = document["reported"]["keys"]
    assert [(r["location"], r["status"]) for r in rows] == [
        ("leak.py#L1", "live"),  # sent once although found twice
        ("leak.py#L2", "already_revoked"),
        ("leak.py#L3", "unknown"),
    ]
    assert rows[0]["key_id"] == live["id"] and rows[0]["outcome"] == "revoked"
    assert rows[0]["incident_id"]
    for secret in (live["key"], dead["key"], stranger):
        assert secret not in result.output
    monkeypatch.setenv("KEYSTEAD_URL", shared_server.url)
    assert cli.json("keys", "show", live["id"])["state"] == "revoked"

    again = cli.run("scan", "leak.py", "--report", shared_server.url)
    assert again.exit_code == 1
    assert f"Reported to {shared_server.url}" in again.stdout
    assert "already revoked" in again.stdout


def test_report_needs_a_root_key(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "leak.py").write_text(f"A = '{keystead_key()}'\n", encoding="utf-8")
    result = cli.fails(2, "scan", "leak.py", "--report", "http://127.0.0.1:9")
    assert "root key" in result.stderr
