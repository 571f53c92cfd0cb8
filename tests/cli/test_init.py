"""``keystead init``: secret file, first workspace, the root key shown exactly once."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ._support import ROOT_KEY_PATTERN, Cli


def test_init_reveals_the_root_key_once_and_creates_a_private_secret(
    cli: Cli, tmp_path: Path
) -> None:
    result = cli.ok("init")

    keys = ROOT_KEY_PATTERN.findall(result.stdout)
    assert len(keys) == 1
    assert "only time" in result.stdout
    secret = tmp_path / "keystead.secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert str(secret) in result.stderr  # told to back it up


def test_init_json_gives_workspace_and_root_key(cli: Cli) -> None:
    data = cli.json("init", "--name", "acme")

    assert data["workspace_id"].startswith("ws_")
    assert ROOT_KEY_PATTERN.fullmatch(data["root_key"])
    assert data["already_initialised"] is False
    workspaces = cli.json("workspaces", "list")["items"]
    assert [w["name"] for w in workspaces] == ["acme"]


def test_second_init_fails_without_if_needed(cli: Cli) -> None:
    cli.json("init")

    result = cli.fails(1, "init")

    assert "already initialised" in result.stderr
    assert not ROOT_KEY_PATTERN.search(result.output)


def test_init_if_needed_succeeds_quietly_when_initialised(cli: Cli) -> None:
    first = cli.json("init")

    human = cli.ok("init", "--if-needed")
    scripted = cli.json("init", "--if-needed")

    assert human.stdout == ""
    assert "already initialised" in human.stderr
    assert scripted == {"already_initialised": True, "workspace_id": first["workspace_id"]}
    assert not ROOT_KEY_PATTERN.search(human.output)


def test_init_if_needed_initialises_a_fresh_store(cli: Cli) -> None:
    data = cli.json("init", "--if-needed")

    assert ROOT_KEY_PATTERN.fullmatch(data["root_key"])


def test_the_root_key_never_appears_again_after_init(cli: Cli) -> None:
    root_key = cli.json("init")["root_key"]
    api = cli.json("apis", "create", "payments")
    cli.json("keys", "create", "--api", api["id"])
    cli.ok("keys", "list")
    cli.ok("root-keys", "list")
    listed = cli.json("root-keys", "list")["items"]
    cli.ok("workspaces", "list")
    cli.ok("init", "--if-needed")
    cli.fails(1, "init")

    printed_after_init = "\n".join(cli.outputs[1:])
    assert root_key not in printed_after_init
    assert listed[0]["start"] == root_key[: len(listed[0]["start"])]
    assert "key" not in listed[0]


def test_init_refuses_remote_mode(cli: Cli) -> None:
    result = cli.fails(2, "--url", "http://127.0.0.1:9", "init")

    assert "local store" in result.stderr


def test_init_removes_a_secret_it_created_when_the_store_refuses_it(
    cli: Cli, tmp_path: Path
) -> None:
    cli.json("init")
    secret = tmp_path / "keystead.secret"
    secret.unlink()

    result = cli.fails(1, "init", "--if-needed")

    assert "does not match" in result.stderr
    assert not secret.exists()


def test_init_creates_a_private_database(cli: Cli, tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        cli.ok("init")
    finally:
        os.umask(previous)

    assert stat.S_IMODE((tmp_path / "cli.db").stat().st_mode) == 0o600
