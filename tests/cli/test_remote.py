"""The CLI against a real ``keystead serve`` process: the HTTP API tested end to end.

One server per module (tmp SQLite store, tmp secret file) on a free loopback
port; it is stopped at the end, and its log is checked for leaked secrets.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serving import Server, serving

from ._support import Cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # an hour's window: the failed-attempts test's two failures never straddle a
    # window's edge (the limiter then weighs the earlier one down)
    settings = {"KEYSTEAD_FAILED_ATTEMPTS_WINDOW_S": "3600"}
    with serving(tmp_path_factory.mktemp("server"), settings) as running:
        yield running


@pytest.fixture
def remote(server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("KEYSTEAD_") and name != "KEYSTEAD_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEYSTEAD_URL", server.url)
    monkeypatch.setenv("KEYSTEAD_ROOT_KEY", server.root_key)
    return Cli()


def test_key_lifecycle_and_verify_through_the_server(remote: Cli, server: Server) -> None:
    api = remote.json("apis", "create", "remote-payments", "--prefix", "rp")
    remote.json("apis", "roles", "put", api["id"], "reader", "-p", "docs.read")
    created = remote.json(
        "keys", "create", "--api", api["id"], "--role", "reader", "--meta", '{"tier": 1}'
    )
    server.revealed.append(created["key"])

    valid = remote.run("keys", "verify", created["key"], "--permissions", "docs.read", "--json")
    denied = remote.run("keys", "verify", created["key"], "--permissions", "docs.write")
    listed = remote.json("keys", "list", "--api", api["id"])
    remote.json("keys", "revoke", created["id"], "--yes")
    revoked = remote.run("keys", "verify", created["key"], "--json")

    assert valid.exit_code == 0
    assert json.loads(valid.stdout)["meta"] == {"tier": 1}
    assert denied.exit_code == 1
    assert [k["id"] for k in listed["items"]] == [created["id"]]
    assert (revoked.exit_code, json.loads(revoked.stdout)["code"]) == (1, "REVOKED")
    remote.json("keys", "delete", created["id"], "--yes")
    remote.json("apis", "delete", api["id"], "--yes")


def test_batch_update_and_root_keys_through_the_server(remote: Cli, server: Server) -> None:
    api = remote.json("apis", "create", "remote-batch")
    batch = remote.json("keys", "create", "--api", api["id"], "--count", "3")
    server.revealed.extend(item["key"] for item in batch["items"])
    key_id = batch["items"][0]["id"]

    updated = remote.json("keys", "update", key_id, "--owner", "org_9", "--expires-in", "1h")
    disabled = remote.json("keys", "disable", key_id)
    enabled = remote.json("keys", "enable", key_id)
    root = remote.json("root-keys", "create", "--name", "verifier", "-p", "keys.verify")
    server.revealed.append(root["key"])
    listed = remote.json("root-keys", "list")["items"]
    revoked = remote.json("root-keys", "revoke", root["id"], "--yes")

    assert updated["owner_id"] == "org_9" and updated["expires_at"]
    assert (disabled["state"], enabled["state"]) == ("disabled", "active")
    assert root["id"] in {r["id"] for r in listed}
    assert revoked["revoked_at"] is not None


def test_root_key_from_a_file(
    remote: Cli, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEYSTEAD_ROOT_KEY")
    key_file = tmp_path / "root.key"
    key_file.write_text(server.root_key + "\n")

    listed = remote.json("--root-key-file", str(key_file), "apis", "list")

    assert "items" in listed


def test_a_wrong_root_key_is_refused_with_401(
    remote: Cli, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYSTEAD_ROOT_KEY", "ksroot_" + "A" * 38)

    result = remote.fails(1, "apis", "list")
    raw = httpx.get(f"{server.url}/v1/apis")

    assert "Unauthorized (401)" in result.stderr
    assert raw.status_code == 401
    assert raw.headers["content-type"].startswith("application/problem+json")
    assert raw.headers["www-authenticate"] == "Bearer"
    assert raw.json()["status"] == 401


def test_not_found_and_workspaces_through_the_server(remote: Cli) -> None:
    missing = remote.fails(1, "keys", "show", "key_01M81PC07QCGC810KG999WVGT0")
    # the status phrase, then the specific detail
    assert "Not Found (404): no key 'key_01M81PC07QCGC810KG999WVGT0'" in missing.stderr
    remote.fails(2, "workspaces", "list")
    remote.fails(2, "init")


def test_the_server_log_holds_no_secret(remote: Cli, server: Server) -> None:
    api = remote.json("apis", "create", "remote-log")
    created = remote.json("keys", "create", "--api", api["id"], "--owner", "org_7")
    server.revealed.append(created["key"])
    remote.json("keys", "verify", created["key"])
    remote.json("keys", "list", "--owner", "org_7")  # a query string reaches the access log
    pasted = httpx.get(  # a key pasted into a path: an error, so it is logged
        f"{server.url}/v1/keys/{created['key']}",
        headers={"Authorization": f"Bearer {server.root_key}"},
    )
    assert pasted.status_code == 422  # not a key id

    log = server.log.read_text()

    assert '"POST /v1/keys HTTP/1.1" 201' in log  # management calls are logged
    assert "POST /v1/keys/verify" not in log  # a successful verify is a usage record only
    assert '"GET /v1/keys/<redacted> HTTP/1.1" 422' in log
    assert "owner_id=..." in log and "org_7" not in log
    for secret in server.revealed:
        assert secret not in log
    assert "Traceback" not in log


def test_plans_owners_and_api_limits_through_the_server(remote: Cli) -> None:
    plan = remote.json("plans", "create", "remote-pro", "--ratelimit", "rpm=100/1m")
    updated = remote.json("plans", "update", plan["id"], "--quota", "10/day", "--priority", "5")
    owner = remote.json("owners", "set", "team/remote", "--credits", "100,refill=10/1h,mode=add")
    api = remote.json("apis", "create", "remote-edge", "--failure-policy", "closed")
    edited = remote.json("apis", "update", api["id"], "--ip-ratelimit", "ip=50/1m")

    assert remote.json("plans", "show", plan["id"]) == updated
    assert (updated["quota"]["limit"], updated["priority"]) == (10, 5)
    assert plan["id"] in {p["id"] for p in remote.json("plans", "list")["items"]}
    assert remote.json("owners", "show", "team/remote") == owner
    assert owner["credits"]["refill"]["mode"] == "add"
    assert "team/remote" in {o["owner_id"] for o in remote.json("owners", "list")["items"]}
    assert edited["limits"]["failure_policy"] == "closed"
    assert edited["limits"]["ip_ratelimits"][0]["limit"] == 50
    assert "plan_" in remote.ok("plans", "list").stdout
    remote.json("owners", "delete", "team/remote", "--yes")
    remote.fails(1, "owners", "show", "team/remote")
    remote.json("plans", "delete", plan["id"], "--yes")
    remote.json("apis", "delete", api["id"], "--yes")


def test_rate_limited_verify_through_the_server(remote: Cli, server: Server) -> None:
    api = remote.json("apis", "create", "remote-limited")
    plan = remote.json("plans", "create", "remote-tiny", "--ratelimit", "rpm=2/1m")
    created = remote.json(
        "keys", "create", "--api", api["id"], "--plan", plan["id"], "--credits", "10"
    )
    server.revealed.append(created["key"])
    key = created["key"]

    first = remote.run("keys", "verify", key, "--cost", "0")
    ok = [remote.run("keys", "verify", key).exit_code for _ in range(2)]
    refused = remote.run("keys", "verify", key)
    refused_json = json.loads(remote.run("keys", "verify", key, "--json").stdout)
    shown = remote.json("keys", "show", created["id"])
    updated = remote.json("keys", "update", created["id"], "--credits", "3", "--reset-quota")

    assert first.exit_code == 0 and "counted in this process" not in first.stderr
    assert ok == [0, 0]
    assert refused.exit_code == 1
    assert refused.stdout.splitlines()[0] == "RATE_LIMITED" and "refused" in refused.stdout
    assert (refused_json["reason"], refused_json["retry_after"] > 0) == ("rpm", True)
    assert shown["credits_remaining"] == 8
    assert (updated["credits"]["remaining"], updated["plan_id"]) == (3, plan["id"])
    assert remote.json("keys", "show", created["id"])["credits_remaining"] == 3


def test_leases_and_failed_attempts_through_the_server(remote: Cli, server: Server) -> None:
    api = remote.json("apis", "create", "remote-leases")
    created = remote.json("keys", "create", "--api", api["id"], "--concurrency", "1")
    server.revealed.append(created["key"])

    held = remote.json("keys", "verify", created["key"], "--keep-leases")
    busy = remote.run("keys", "verify", created["key"], "--json")
    released = remote.json("keys", "release", *held["leases"])
    again = remote.json("keys", "verify", created["key"])  # given back at once by default
    after = remote.json("keys", "verify", created["key"])
    for _ in range(2):
        remote.run("keys", "verify", "ks_guess", "--ip", "198.51.100.4")
    state = remote.json("limits", "failed-attempts", "198.51.100.4")

    assert json.loads(busy.stdout)["code"] == "RATE_LIMITED"
    assert released == {"released": 1}
    assert again["valid"] and after["valid"] and "leases" not in after
    assert (state["ip"], state["failures_seen"], state["blocked_until"]) == (
        "198.51.100.4",
        2,
        None,
    )
    assert state["enabled"] and state["remaining"] == state["limit"] - 2  # the limiter's count


def test_rotation_through_the_server(remote: Cli, server: Server) -> None:
    api = remote.json("apis", "create", "remote-rotation", "--prefix", "rr")
    old = remote.json("keys", "create", "--api", api["id"], "--owner", "o1")
    rotated = remote.json("keys", "rotate", old["id"], "--grace", "0")
    server.revealed.extend([old["key"], rotated["key"]])
    expired = remote.run("keys", "verify", old["key"], "--json")
    assert (expired.exit_code, json.loads(expired.stdout)["rotated_to"]) == (1, rotated["id"])
    assert remote.json("keys", "verify", rotated["key"])["valid"] is True
    assert remote.json("keys", "rotate", "--due", "--dry-run") == {"dry_run": True, "items": []}
    remote.fails(1, "keys", "rotate", old["id"])  # 409: rotated already
