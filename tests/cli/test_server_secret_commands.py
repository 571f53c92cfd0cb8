"""``keystead secret status|rotate|retire``: tables for people, --json, the warning
and confirmation before a retirement cuts keys off, and bad input."""

from __future__ import annotations

import os

import pytest

from keystead.cli import _runtime

from ._support import Cli


@pytest.fixture
def initialised(cli_any: Cli) -> Cli:
    cli_any.json("init")
    return cli_any


def _key(cli: Cli) -> str:
    api = cli.json("apis", "create", "payments", "--prefix", "acme")
    created = cli.json("keys", "create", "--api", api["id"])
    return str(created["key"])


def test_rotate_then_an_old_key_verifies_and_moves(initialised: Cli) -> None:
    cli = initialised
    key = _key(cli)
    before = cli.json("secret", "status")
    assert [(v["version"], v["state"], v["keys"]) for v in before["versions"]] == [(1, "newest", 1)]
    rotated = cli.json("secret", "rotate", "--settle", "0")
    assert rotated["newest"] == 2
    cli.ok("keys", "verify", key)
    after = cli.json("secret", "status")
    assert {v["version"]: v["keys"] for v in after["versions"]} == {1: 0, 2: 1}
    human = cli.ok("secret", "status").stdout
    assert "newest" in human and "older" in human and "Root keys" in human
    pending = cli.ok("secret", "rotate", "--settle", "0.5", "--wait").stdout
    assert "version 3 added" in pending
    assert cli.json("secret", "status")["newest"] == 3


def test_retire_warns_how_many_keys_stop_verifying_and_asks(
    initialised: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = initialised
    monkeypatch.setattr(_runtime, "interactive", lambda: True)  # someone answers
    key = _key(cli)
    cli.json("secret", "rotate", "--settle", "0")
    refused = cli.fails(1, "secret", "retire", "1", "--yes")
    assert "1 keys and 1 root keys still use server-secret version 1" in refused.stderr
    declined = cli.run("secret", "retire", "1", "--force", input="n\n")
    assert declined.exit_code != 0
    cli.ok("keys", "verify", key)  # nothing was retired: it still verifies (and moves)
    cli.fails(1, "secret", "retire", "1")  # the root key of init still uses it
    retired = cli.run("secret", "retire", "1", "--force", input="y\n")
    assert retired.exit_code == 0, retired.output
    assert "0 keys and 1 root keys are hashed under version 1" in retired.stderr
    assert cli.json("secret", "status")["versions"][0]["state"] == "retired"


def test_bad_input_is_a_message_and_an_exit_code(initialised: Cli) -> None:
    cli = initialised
    cli.fails(2, "secret", "rotate", "--settle", "-1")
    cli.fails(2, "secret", "rotate", "--settle", "soon")
    cli.fails(2, "secret", "retire", "0")
    cli.fails(2, "secret", "retire", "one")
    assert "no server-secret version 9" in cli.fails(1, "secret", "retire", "9", "--yes").stderr
    assert "newest" in cli.fails(1, "secret", "retire", "1", "--yes").stderr
    cli.json("secret", "rotate", "--settle", "60")
    assert "pending" in cli.fails(1, "secret", "rotate").stderr


def test_status_locally_and_refused_against_a_server(ready: Cli) -> None:
    """The server secret is the deployment's: managed on a server host against its
    store, never through a workspace's root key over HTTP."""
    if os.environ.get("KEYSTEAD_URL"):
        assert "keystead secret" in ready.fails(1, "secret", "status").stderr
        assert "keystead secret" in ready.fails(1, "secret", "rotate").stderr
        return
    status = ready.json("secret", "status")
    assert status["newest"] >= 1 and status["versions"]
    assert "no server-secret version" in ready.fails(1, "secret", "retire", "999", "--yes").stderr
