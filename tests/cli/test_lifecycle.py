"""APIs, roles and keys from creation to deletion, through --json, on every backend."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ._support import KEY_PATTERN, Cli


def test_api_and_key_lifecycle(cli_any: Cli) -> None:
    cli = cli_any
    cli.json("init")
    api = cli.json("apis", "create", "payments", "--prefix", "pay")
    assert api["prefix"] == "pay"
    assert cli.json("apis", "show", api["id"]) == api
    assert [a["id"] for a in cli.json("apis", "list")["items"]] == [api["id"]]
    role = cli.json("apis", "roles", "put", api["id"], "reader", "-p", "docs.read")
    assert role["permissions"] == ["docs.read"]

    created = cli.json(
        *["keys", "create", "--api", api["id"], "--name", "acme", "--owner", "org_1"],
        *["--meta", '{"plan": "pro"}', "-p", "docs.write", "--role", "reader"],
        *["--expires-in", "30d"],
    )
    key, key_id = created["key"], created["id"]
    assert key.startswith("pay_")
    assert created["meta"] == {"plan": "pro"}
    assert created["state"] == "active"
    expires = datetime.fromisoformat(created["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)

    shown = cli.json("keys", "show", key_id)
    assert "key" not in shown
    assert shown["start"] == key[: len(shown["start"])]

    verdict = cli.json("keys", "verify", key, "--permissions", "docs.read AND docs.write")
    assert verdict["valid"] is True
    assert sorted(verdict["permissions"]) == ["docs.read", "docs.write"]

    updated = cli.json(
        "keys", "update", key_id, "--name", "acme-2", "--clear-expires-at", "--meta", "{}"
    )
    assert (updated["name"], updated["expires_at"], updated["meta"]) == ("acme-2", None, {})

    assert cli.json("keys", "disable", key_id)["state"] == "disabled"
    assert cli.run("keys", "verify", key).exit_code == 1
    assert cli.json("keys", "enable", key_id)["state"] == "active"
    assert cli.json("keys", "revoke", key_id, "--yes")["state"] == "revoked"
    revoked = cli.run("keys", "verify", key, "--json")
    assert revoked.exit_code == 1
    assert json.loads(revoked.stdout)["code"] == "REVOKED"

    cli.fails(1, "apis", "delete", api["id"], "--yes")  # still has a key
    assert cli.json("keys", "delete", key_id, "--yes") == {"deleted": True, "id": key_id}
    cli.fails(1, "keys", "show", key_id)
    cli.json("apis", "roles", "delete", api["id"], "reader", "--yes")
    assert cli.json("apis", "roles", "list", api["id"]) == {"items": []}
    cli.json("apis", "delete", api["id"], "--yes")
    assert cli.json("apis", "list") == {"items": []}


def test_batch_create_and_paging(cli_any: Cli) -> None:
    cli = cli_any
    cli.json("init")
    api = cli.json("apis", "create", "batch")

    batch = cli.json("keys", "create", "--api", api["id"], "--count", "5", "--owner", "o")
    keys = [item["key"] for item in batch["items"]]

    assert len(set(keys)) == 5
    first = cli.json("keys", "list", "--api", api["id"], "--limit", "2")
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    everything = cli.json("keys", "list", "--owner", "o", "--limit", "2", "--all")
    assert len(everything["items"]) == 5
    assert everything["next_cursor"] is None
    assert not any("key" in item for item in everything["items"])


def test_single_count_is_still_a_list(ready: Cli) -> None:
    api = ready.json("apis", "create", "one")

    batch = ready.json("keys", "create", "--api", api["id"], "--count", "1")

    assert len(batch["items"]) == 1


def test_list_filters_by_state(ready: Cli) -> None:
    api = ready.json("apis", "create", "states")
    one = ready.json("keys", "create", "--api", api["id"])
    ready.json("keys", "create", "--api", api["id"], "--disabled")

    active = ready.json("keys", "list", "--state", "active")["items"]

    assert [k["id"] for k in active] == [one["id"]]
    ready.fails(2, "keys", "list", "--state", "sleepy")


def test_verify_exit_codes_and_codes(ready: Cli) -> None:
    api = ready.json("apis", "create", "verify")
    key = ready.json("keys", "create", "--api", api["id"], "-p", "a.read")["key"]

    valid = ready.run("keys", "verify", key, "--permissions", "a.read")
    insufficient = ready.run("keys", "verify", key, "--permissions", "a.write")
    malformed = ready.run("keys", "verify", "not-a-key")
    from_stdin = ready.run("keys", "verify", "-", "--json", input=key + "\n")

    assert (valid.exit_code, valid.stdout.splitlines()[0]) == (0, "VALID")
    assert insufficient.exit_code == 1
    assert insufficient.stdout.splitlines()[0] == "INSUFFICIENT_PERMISSIONS"
    assert (malformed.exit_code, malformed.stdout.strip()) == (1, "MALFORMED")
    assert from_stdin.exit_code == 0
    assert json.loads(from_stdin.stdout)["key_id"]


def test_verify_a_bad_permission_query_is_an_error_not_a_verdict(ready: Cli) -> None:
    api = ready.json("apis", "create", "query")
    key = ready.json("keys", "create", "--api", api["id"])["key"]

    result = ready.fails(1, "keys", "verify", key, "--permissions", "a.read AND (")

    assert "position" in result.stderr
    assert result.stdout == ""


def test_restrictions_from_a_file_are_enforced(ready: Cli, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"ips": {"allow": ["10.0.0.0/8"]}, "methods": ["GET"]}))
    api = ready.json("apis", "create", "restricted")
    key = ready.json("keys", "create", "--api", api["id"], "--restrictions", f"@{rules}")

    inside = ready.run("keys", "verify", key["key"], "--ip", "10.1.2.3", "--method", "GET")
    outside = ready.run("keys", "verify", key["key"], "--ip", "192.0.2.1", "--json")

    assert key["restrictions"]["methods"] == ["GET"]
    assert inside.exit_code == 0
    assert outside.exit_code == 1
    assert json.loads(outside.stdout) | {"reason": "ip"} == json.loads(outside.stdout)
    assert json.loads(outside.stdout)["code"] == "FORBIDDEN"


def test_human_output_shows_the_key_once_and_lists_without_it(ready: Cli) -> None:
    api = ready.json("apis", "create", "people")

    created = ready.ok("keys", "create", "--api", api["id"], "--name", "[bold]acme")
    listing = ready.ok("keys", "list")

    keys = KEY_PATTERN.findall(created.stdout)
    assert len(keys) == 1
    assert "[bold]acme" in created.stdout  # values are text, never markup
    assert keys[0] not in listing.output
    assert "[bold]acme" in listing.stdout


def test_workspaces_create_and_isolation(ready_local: Cli) -> None:
    created = ready_local.json("workspaces", "create", "tenant-b")
    ws = created["workspace_id"]

    assert created["root_key"].startswith("ksroot_")
    ready_local.json("--workspace", ws, "apis", "create", "only-in-b")
    assert ready_local.json("apis", "list") == {"items": []}
    assert len(ready_local.json("--workspace", ws, "apis", "list")["items"]) == 1
    names = [w["name"] for w in ready_local.json("workspaces", "list")["items"]]
    assert names == ["default", "tenant-b"]
    ready_local.fails(1, "--workspace", "ws_nope", "apis", "list")


def test_root_keys_create_list_revoke(ready: Cli) -> None:
    created = ready.json("root-keys", "create", "--name", "ci", "-p", "keys.verify")

    listed = ready.json("root-keys", "list")["items"]
    revoked = ready.json("root-keys", "revoke", created["id"], "--yes")

    assert created["key"].startswith("ksroot_")
    assert created["permissions"] == ["keys.verify"]
    assert {r["id"] for r in listed} >= {created["id"]}
    assert all("key" not in r for r in listed)
    assert revoked["revoked_at"] is not None
