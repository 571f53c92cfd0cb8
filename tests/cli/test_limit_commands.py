"""Plans, owners, API limit settings and key limits through the CLI (local store)."""

from __future__ import annotations

import json

from ._support import Cli

RPM = {"name": "rpm", "limit": 1000, "duration_s": 60.0, "algorithm": "gcra", "burst": 50}
QUOTA = {"limit": 500, "period": "day", "timezone": "Europe/Paris", "offset_s": 3600}
CREDITS = {"remaining": 1000, "refill": {"amount": 100, "interval_s": 86400.0, "mode": "set"}}


def test_plan_lifecycle(cli_any: Cli) -> None:
    cli = cli_any
    cli.json("init")
    plan = cli.json(
        *["plans", "create", "pro", "--ratelimit", "rpm=1000/60s,burst=50"],
        *["--ratelimit", "day=10000/1d,algorithm=sliding_window"],
        *["--quota", "500/day,tz=Europe/Paris,offset=3600", "--credits", "1000,refill=100/1d"],
        *["--concurrency", "5,lease=30s", "--priority", "10"],
    )
    assert plan["id"].startswith("plan_")
    assert (plan["name"], plan["priority"]) == ("pro", 10)
    assert plan["ratelimits"][0] == RPM
    assert plan["ratelimits"][1]["algorithm"] == "sliding_window"
    assert (plan["quota"], plan["credits"]) == (QUOTA, CREDITS)
    assert plan["concurrency"] == {"limit": 5, "lease_s": 30.0}
    assert cli.json("plans", "show", plan["id"]) == plan
    assert cli.json("plans", "list") == {"items": [plan]}

    updated = cli.json(
        *["plans", "update", plan["id"], "--name", "pro-2", "--priority", "20"],
        *["--ratelimit", "rps=10/1s", "--clear-quota", "--clear-concurrency"],
    )
    assert (updated["name"], updated["priority"], updated["quota"]) == ("pro-2", 20, None)
    assert [r["name"] for r in updated["ratelimits"]] == ["rps"]
    assert (updated["credits"], updated["concurrency"]) == (CREDITS, None)

    api = cli.json("apis", "create", "tiers")
    key = cli.json("keys", "create", "--api", api["id"], "--plan", plan["id"])
    assert key["plan_id"] == plan["id"]
    in_use = cli.fails(1, "plans", "delete", plan["id"], "--yes")
    assert "keys still use" in in_use.stderr
    assert cli.json("keys", "update", key["id"], "--clear-plan")["plan_id"] is None
    assert cli.json("plans", "delete", plan["id"], "--yes") == {"deleted": True, "id": plan["id"]}
    assert cli.json("plans", "list") == {"items": []}
    cli.fails(1, "plans", "show", plan["id"])


def test_owner_lifecycle(cli_any: Cli) -> None:
    cli = cli_any
    cli.json("init")

    owner = cli.json("owners", "set", "team/eng", "--quota", "10000/month", "--ratelimit", "s=5/1s")
    replaced = cli.json("owners", "set", "team/eng", "--concurrency", "3")

    assert owner["owner_id"] == "team/eng"
    assert owner["quota"] == {"limit": 10000, "period": "month", "timezone": "UTC", "offset_s": 0}
    assert owner["ratelimits"] == [
        {"name": "s", "limit": 5, "duration_s": 1.0, "algorithm": "gcra"}
    ]
    assert (replaced["quota"], replaced["ratelimits"]) == (None, [])  # set replaces them all
    assert replaced["concurrency"] == {"limit": 3, "lease_s": 60.0}
    assert cli.json("owners", "show", "team/eng") == replaced
    assert [o["owner_id"] for o in cli.json("owners", "list")["items"]] == ["team/eng"]
    assert cli.json("owners", "delete", "team/eng", "--yes") == {
        "deleted": True,
        "owner_id": "team/eng",
    }
    cli.fails(1, "owners", "show", "team/eng")
    cli.fails(1, "owners", "delete", "team/eng", "--yes")
    assert "at least one" in cli.fails(2, "owners", "set", "team/eng").stderr


def test_key_limits_create_update_and_show(ready: Cli) -> None:
    api = ready.json("apis", "create", "metered")
    plan = ready.json("plans", "create", "basic", "--ratelimit", "rpm=60/1m")
    created = ready.json(
        *["keys", "create", "--api", api["id"], "--plan", plan["id"]],
        *["--ratelimit", "rpm=1000/60s,burst=50", "--quota", "500/day,tz=Europe/Paris"],
        *["--credits", "1000,refill=100/1d", "--concurrency", "5"],
    )
    key_id = created["id"]
    assert (created["ratelimits"], created["plan_id"]) == ([RPM], plan["id"])
    assert created["quota"]["timezone"] == "Europe/Paris"
    assert created["concurrency"] == {"limit": 5, "lease_s": 60.0}

    shown = ready.json("keys", "show", key_id)
    assert (shown["credits"], shown["credits_remaining"]) == (CREDITS, 1000)

    balance = ready.json("keys", "update", key_id, "--credits", "7")
    assert balance["credits"] == {"remaining": 7, "refill": None}
    assert ready.json("keys", "show", key_id)["credits_remaining"] == 7

    cleared = ready.json(
        *["keys", "update", key_id, "--clear-ratelimits", "--clear-quota"],
        *["--clear-credits", "--clear-concurrency", "--clear-plan"],
    )
    assert (cleared["ratelimits"], cleared["quota"], cleared["credits"]) == ([], None, None)
    assert (cleared["concurrency"], cleared["plan_id"]) == (None, None)
    assert ready.json("keys", "show", key_id)["credits_remaining"] is None

    ready.json("keys", "update", key_id, "--quota", "10/day")
    assert ready.json("keys", "update", key_id, "--reset-quota")["quota"]["limit"] == 10
    assert (
        "not both"
        in ready.fails(2, "keys", "update", key_id, "--quota", "1/day", "--clear-quota").stderr
    )
    assert (
        "--clear-plan"
        in ready.fails(2, "keys", "update", key_id, "--plan", "p", "--clear-plan").stderr
    )
    ready.fails(1, "keys", "update", key_id, "--plan", "plan_01M81PC07QCGC810KG999WVGT0")


def test_key_show_lists_plan_and_own_limits_for_people(ready: Cli) -> None:
    api = ready.json("apis", "create", "people")
    plan = ready.json("plans", "create", "gold", "--ratelimit", "rpm=60/1m", "--quota", "9/day")
    key = ready.json(
        "keys", "create", "--api", api["id"], "--plan", plan["id"], "--ratelimit", "rpm=5/1s"
    )

    shown = ready.ok("keys", "show", key["id"]).stdout
    plans = ready.ok("plans", "list").stdout

    assert "rpm=5/1s" in shown and "rpm=60/1m" not in shown  # the key's own replaces it
    assert "9/day" in shown and "plan gold" in shown
    assert "Credits left" in shown
    assert "rpm=60/1m; quota 9/day" in plans


def test_apis_limit_settings(ready: Cli) -> None:
    created = ready.json("apis", "create", "edge", "--failure-policy", "closed")
    api_id = created["id"]
    assert created["limits"] == {"failure_policy": "closed", "ip_ratelimits": []}

    updated = ready.json(
        *["apis", "update", api_id, "--name", "edge-2", "--ip-ratelimit", "ip=100/1m"],
        *["--key-defaults", '{"permissions": ["a.read"]}'],
    )
    assert (updated["name"], updated["key_defaults"]["permissions"]) == ("edge-2", ["a.read"])
    assert updated["limits"] == {
        "failure_policy": "closed",  # kept: only the per-IP limits were given
        "ip_ratelimits": [{"name": "ip", "limit": 100, "duration_s": 60.0, "algorithm": "gcra"}],
    }
    opened = ready.json("apis", "update", api_id, "--failure-policy", "open")
    assert opened["limits"]["ip_ratelimits"][0]["name"] == "ip"
    cleared = ready.json("apis", "update", api_id, "--clear-ip-ratelimits")
    assert cleared["limits"] == {"failure_policy": "open", "ip_ratelimits": []}
    assert ready.json("apis", "show", api_id) == cleared
    assert "Per-IP limits" in ready.ok("apis", "show", api_id).stdout

    ready.fails(2, "apis", "update", api_id)
    ready.fails(2, "apis", "update", api_id, "--failure-policy", "sometimes")
    ready.fails(2, "apis", "update", api_id, "--ip-ratelimit", "x=1/1s", "--clear-ip-ratelimits")
    ready.fails(1, "apis", "update", "api_01M81PC07QCGC810KG999WVGT0", "--name", "x")


def test_verify_spends_cost_and_prints_the_limits(ready_local: Cli) -> None:
    """Credits are mirrored to the store when a command ends, so they carry over
    from one local command to the next even with the in-memory limiter."""
    api = ready_local.json("apis", "create", "credits")
    created = ready_local.json("keys", "create", "--api", api["id"], "--credits", "10")
    key = created["key"]

    first = ready_local.json("keys", "verify", key, "--cost", "4")
    second = ready_local.ok("keys", "verify", key, "--cost", "4")
    peek = ready_local.json("keys", "verify", key, "--cost", "0")
    refused = ready_local.run("keys", "verify", key, "--cost", "4", "--json")

    assert first["limits"] == [
        {"name": "credits", "kind": "credits", "limit": 10, "remaining": 6, "reset": None}
    ]
    assert "Remaining" in second.stdout and "credits   2 " in second.stdout
    assert "counted in this process only" in second.stderr
    assert (peek["valid"], peek["limits"][0]["remaining"]) == (True, 2)
    assert refused.exit_code == 1
    verdict = json.loads(refused.stdout)
    assert (verdict["code"], verdict["reason"]) == ("USAGE_EXCEEDED", "credits")
    assert ready_local.json("keys", "show", created["id"])["credits_remaining"] == 2
    human = ready_local.run("keys", "verify", key, "--cost", "4")
    assert human.stdout.splitlines()[0] == "USAGE_EXCEEDED"
    assert "refused" in human.stdout


def test_verify_takes_extra_rate_limits_and_gives_leases_back(ready: Cli) -> None:
    api = ready.json("apis", "create", "leases")
    key = ready.json("keys", "create", "--api", api["id"], "--concurrency", "1")["key"]

    released = ready.json("keys", "verify", key, "--ratelimit", "call=5/1s")
    kept = ready.json("keys", "verify", key, "--keep-leases")

    assert {item["name"] for item in released["limits"]} == {"concurrency", "call"}
    assert "leases" not in released
    assert len(kept["leases"]) == 1
    assert ready.json("keys", "release", *kept["leases"]) == {"released": 1}
    ready.fails(2, "keys", "verify", key, "--ratelimit", "call")
    bad_json = ready.fails(1, "keys", "verify", key, "--ratelimit", '{"name": "x", "limit": 0}')
    assert "ratelimits[0]" in bad_json.stderr


def test_failed_attempts_local_view(ready_local: Cli) -> None:
    state = ready_local.json("limits", "failed-attempts", "192.0.2.7")
    human = ready_local.ok("limits", "failed-attempts", "2001:db8::1")

    assert state["ip"] == "192.0.2.7"
    assert (state["failures_seen"], state["blocked_until"], state["enabled"]) == (0, None, True)
    assert state["remaining"] == state["limit"] == 100
    assert "Attempts left" in human.stdout and "100/100" in human.stdout
    assert "memory://" in human.stderr
    assert "not an IP" in ready_local.fails(2, "limits", "failed-attempts", "localhost").stderr


def test_limit_options_name_the_problem(ready: Cli) -> None:
    api = ready.json("apis", "create", "errors")
    cases = [
        ("plans", "create", "p", "--ratelimit", "rps"),
        ("plans", "create", "p", "--quota", "100/fortnight"),
        ("keys", "create", "--api", api["id"], "--credits", "many"),
        ("keys", "create", "--api", api["id"], "--concurrency", "5,lease=soon"),
        ("owners", "set", "o", "--ratelimit", "x=1/1s,burst=a"),
        ("apis", "update", api["id"], "--ip-ratelimit", "ip=100/1minute"),
        ("keys", "create", "--api", api["id"], "--quota", "{not json"),
    ]
    for args in cases:
        option = next(a for a in args if a.startswith("--") and a != "--api")
        result = ready.fails(2, *args)
        assert result.stderr.count("\n") == 1, result.stderr
        assert option in result.stderr
        assert result.stdout == ""
    semantic = ready.fails(1, "keys", "create", "--api", api["id"], "--quota", '{"limit": -1}')
    assert "quota.limit" in semantic.stderr
    zone = ready.fails(1, "plans", "create", "p", "--quota", "1/day,tz=Mars/Olympus")
    assert "Mars/Olympus" in zone.stderr
    assert ready.json("plans", "list") == {"items": []}
    assert ready.json("keys", "list")["items"] == []
