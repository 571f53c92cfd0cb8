"""Limits across CLI commands: each command is a process of its own, so counters
must live in Redis (KEYSTEAD_TEST_REDIS_URL) to carry over; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import secrets

import pytest

from ._support import Cli


def test_a_plan_rate_limit_refuses_the_third_verify(cli_any: Cli, redis_limits: str) -> None:
    cli = cli_any
    cli.json("init")
    api = cli.json("apis", "create", "flow")
    plan = cli.json("plans", "create", "tiny", "--ratelimit", "rpm=2/1m")
    key = cli.json("keys", "create", "--api", api["id"], "--plan", plan["id"])["key"]

    first = cli.run("keys", "verify", key)
    second = cli.run("keys", "verify", key, "--json")
    third = cli.run("keys", "verify", key)
    third_json = cli.run("keys", "verify", key, "--json")

    assert (first.exit_code, second.exit_code) == (0, 0)
    assert json.loads(second.stdout)["limits"][0] | {"reset": 0} == {
        "name": "rpm",
        "kind": "rate_limit",
        "limit": 2,
        "remaining": 0,
        "reset": 0,
    }
    assert third.exit_code == 1
    assert third.stdout.splitlines()[0] == "RATE_LIMITED"
    assert "rpm" in third.stdout and "refused" in third.stdout
    verdict = json.loads(third_json.stdout)
    assert (third_json.exit_code, verdict["code"], verdict["reason"]) == (1, "RATE_LIMITED", "rpm")
    assert 0 < verdict["retry_after"] <= 30
    assert "counted in this process only" not in third.stderr


def test_a_plan_change_reaches_its_keys(ready: Cli, redis_limits: str) -> None:
    api = ready.json("apis", "create", "grow")
    plan = ready.json("plans", "create", "small", "--ratelimit", "rpm=1/1m")
    key = ready.json("keys", "create", "--api", api["id"], "--plan", plan["id"])["key"]

    ready.ok("keys", "verify", key)
    assert ready.run("keys", "verify", key).exit_code == 1
    ready.json("plans", "update", plan["id"], "--ratelimit", "rpm=3/1m")
    ready.ok("keys", "verify", key)  # a changed limit is a fresh counter


def test_owner_limits_are_shared_by_its_keys(ready: Cli, redis_limits: str) -> None:
    api = ready.json("apis", "create", "shared")
    ready.json("owners", "set", "acme", "--quota", "3/day")
    one = ready.json("keys", "create", "--api", api["id"], "--owner", "acme")["key"]
    two = ready.json("keys", "create", "--api", api["id"], "--owner", "acme")["key"]

    ready.ok("keys", "verify", one, "--cost", "2")
    ready.ok("keys", "verify", two)
    refused = ready.run("keys", "verify", one, "--json")

    verdict = json.loads(refused.stdout)
    assert (refused.exit_code, verdict["code"], verdict["reason"]) == (
        1,
        "USAGE_EXCEEDED",
        "owner.quota",
    )


def test_failed_attempts_block_an_ip(
    cli: Cli, redis_limits: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYSTEAD_FAILED_ATTEMPTS_LIMIT", "2")
    cli.json("init")
    ip = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"

    codes = [
        json.loads(cli.run("keys", "verify", "ks_nope", "--ip", ip, "--json").stdout)["code"]
        for _ in range(3)
    ]
    state = cli.json("limits", "failed-attempts", ip)

    assert codes == ["MALFORMED", "MALFORMED", "RATE_LIMITED"]
    assert (state["limit"], state["remaining"]) == (2, 0)
    assert state["reset"] is not None
