"""``keystead audit``: list, export, verify, public-key and checkpoint, locally
and against a server."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from serving import Server

from ._support import Cli
from .test_remote import remote, server  # noqa: F401 - fixtures


def _changes(cli: Cli) -> str:
    api = cli.json("apis", "create", "audited", "--prefix", "au")
    created = cli.json("keys", "create", "--api", api["id"], "--name", "one")
    cli.json("keys", "revoke", created["id"], "--yes")
    return str(created["key"])


def test_list_export_and_verify_locally(ready_local: Cli, tmp_path: Path) -> None:
    plaintext = _changes(ready_local)
    shown_before = len(ready_local.outputs)
    page = ready_local.json("audit", "list")
    actions = [e["action"] for e in page["items"]]
    assert actions[:3] == ["key.revoke", "key.create", "api.create"]
    assert {e["actor"] for e in page["items"]} == {"cli"}
    keys_only = ready_local.json("audit", "list", "--action", "key.*", "--limit", "1")
    assert [e["action"] for e in keys_only["items"]] == ["key.revoke"]
    assert keys_only["next_cursor"]
    older = ready_local.json(
        "audit", "list", "--action", "key.*", "--cursor", keys_only["next_cursor"]
    )
    assert [e["action"] for e in older["items"]] == ["key.create"]
    ready_local.ok("audit", "list")  # the table renders

    lines = ready_local.ok("audit", "export").stdout.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, len(lines) + 1))
    for line in lines:  # the recipe of docs/audit.md
        entry = json.loads(line)
        claimed = entry.pop("hash")
        body = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(body.encode()).hexdigest() == claimed
    target = tmp_path / "audit.jsonl"
    ready_local.ok("audit", "export", "--output", str(target))
    assert target.read_text().splitlines() == lines
    assert all(plaintext not in o for o in ready_local.outputs[shown_before:])

    assert ready_local.json("audit", "checkpoint")["items"][0]["seq"] == len(lines)
    assert ready_local.json("audit", "checkpoint")["items"] == []
    report = ready_local.json("audit", "verify")
    assert report["ok"] is True and report["checkpoints"] == 1
    assert "intact" in ready_local.ok("audit", "verify").stdout
    pem = ready_local.ok("audit", "public-key", "--pem").stdout
    assert load_pem_public_key(pem.encode())
    assert ready_local.json("audit", "public-key")["algorithm"] == "Ed25519"


def test_init_and_new_workspaces_are_audited(cli: Cli) -> None:
    boot = cli.json("init", "--name", "acme")
    first = cli.json("audit", "list")["items"]
    assert [(e["actor"], e["action"], e["target_id"]) for e in first] == [
        ("cli", "root_key.create", boot["root_key_id"]),
        ("cli", "workspace.create", boot["workspace_id"]),
    ]
    made = cli.json("workspaces", "create", "second")
    shown = len(cli.outputs)
    other = cli.json("--workspace", made["workspace_id"], "audit", "list")["items"]
    assert [(e["seq"], e["action"], e["target_id"]) for e in other] == [
        (2, "root_key.create", made["root_key_id"]),
        (1, "workspace.create", made["workspace_id"]),
    ]
    assert len(cli.json("audit", "list")["items"]) == 2  # the first chain is untouched
    assert cli.json("--workspace", made["workspace_id"], "audit", "verify")["ok"] is True
    assert all(made["root_key"] not in o for o in cli.outputs[shown:])


def test_bad_input_explains_itself(ready: Cli, tmp_path: Path) -> None:
    ready.fails(1, "audit", "list", "--from", "last tuesday")
    ready.fails(1, "audit", "list", "--cursor", "nope")
    ready.fails(2, "audit", "list", "--limit", "0")
    ready.fails(2, "audit", "export", "--output", str(tmp_path / "missing" / "dir" / "x"))


def test_through_the_server(remote: Cli, server: Server) -> None:  # noqa: F811
    remote.json("apis", "create", "over-http", "--prefix", "oh")
    page = remote.json("audit", "list")
    assert page["items"][0]["action"] == "api.create"
    assert page["items"][0]["actor"].startswith("root_key:rk_")
    assert page["items"][0]["ip"] == "127.0.0.1"
    assert remote.json("audit", "verify")["ok"] is True
    lines = remote.ok("audit", "export").stdout.splitlines()
    assert json.loads(lines[-1])["action"] == "api.create"
    assert remote.json("audit", "public-key")["algorithm"] == "Ed25519"
    remote.fails(2, "audit", "checkpoint")
    remote.fails(1, "audit", "list", "--from", "soon")
