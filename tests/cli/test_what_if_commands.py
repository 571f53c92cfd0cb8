"""``keystead analytics what-if`` and ``keystead keys list`` filters, locally."""

from __future__ import annotations

import pytest

from keystead.cli._runtime import UsageProblem
from keystead.cli.analytics import limit_shorthand

from ._support import Cli


def test_the_limit_shorthand() -> None:
    assert limit_shorthand("1000/day") == {
        "name": "day",
        "limit": 1000,
        "duration_s": 86400.0,
        "algorithm": "gcra",
    }
    assert limit_shorthand("100/10s")["name"] == "limit"
    assert limit_shorthand("100/10s")["duration_s"] == 10.0
    for bad in ("1000", "1000/", "lots/day", "1000/fortnight"):
        with pytest.raises(UsageProblem):
            limit_shorthand(bad)


def _plan_with_uses(cli: Cli) -> dict[str, str]:
    cli.json("init")
    api = cli.json("apis", "create", "replayed", "--prefix", "rp")
    plan = cli.json("plans", "create", "free")
    ids = {"api": api["id"], "plan": plan["id"]}
    for owner, uses in (("dana", 5), ("eve", 2)):
        key = cli.json("keys", "create", "--api", api["id"], "--owner", owner,
                       "--plan", plan["id"], "--name", f"{owner} key")  # fmt: skip
        ids[owner] = key["id"]
        for _ in range(uses):
            cli.ok("keys", "verify", key["key"])
    return ids


def test_what_if_names_who_goes_over(cli_any: Cli) -> None:
    ids = _plan_with_uses(cli_any)
    # 3 a day: a burst of 3, then one every 8 hours; the uses came within seconds
    found = cli_any.json("analytics", "what-if", "--plan", ids["plan"], "--limit", "3/day")
    assert found["totals"]["requests"] == 7 and found["totals"]["refused"] == 2
    assert [(o["owner_id"], o["refused"]) for o in found["owners"]] == [("dana", 2), ("eve", 0)]
    assert found["proposal"]["ratelimits"][0]["name"] == "day"
    quota = cli_any.json("analytics", "what-if", "--api", ids["api"], "--quota", "1/day",
                         "--days", "1", "-g", "day")  # fmt: skip
    assert quota["totals"]["refused"] == 5 and len(quota["buckets"]) in (1, 2)
    shown = cli_any.ok("analytics", "what-if", "--plan", ids["plan"], "--limit", "3/day").stdout
    assert "2 of 7 uses refused" in shown and "dana" in shown and "Owners" in shown

    cli_any.fails(2, "analytics", "what-if", "--plan", ids["plan"])
    cli_any.fails(2, "analytics", "what-if", "--plan", ids["plan"], "--limit", "3")
    cli_any.fails(1, "analytics", "what-if", "--limit", "3/day")
    cli_any.fails(1, "analytics", "what-if", "--plan", ids["plan"], "--quota", "1/day,tz=Mars/Base")


def test_keys_list_filters_and_searches(cli_any: Cli) -> None:
    ids = _plan_with_uses(cli_any)
    on_plan = cli_any.json("keys", "list", "--plan", ids["plan"], "--limit", "1", "--all")
    assert [k["id"] for k in on_plan["items"]] == [ids["dana"], ids["eve"]]
    found = cli_any.json("keys", "list", "--search", "EVE")
    assert [k["id"] for k in found["items"]] == [ids["eve"]]
    assert cli_any.json("keys", "list", "--environment", "test")["items"] == []
    cli_any.fails(1, "keys", "list", "--environment", "Not Valid")
    cli_any.fails(1, "keys", "list", "--plan", "free")
