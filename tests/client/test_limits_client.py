"""The limit methods of the client against the real HTTP app (in-process), on every
store backend; the limiter is the app's own in-memory one, so counters carry over."""

from __future__ import annotations

import pytest

from keystead.client import ApiError, Client

from .conftest import BASE_URL, App

RPM = {"name": "rpm", "limit": 2, "duration_s": 60.0, "algorithm": "gcra"}


def test_plans(app: App) -> None:
    ks = app.client
    plan = ks.create_plan("pro", ratelimits=[RPM], quota={"limit": 100, "period": "day"})

    updated = ks.update_plan(plan["id"], {"quota": None, "priority": 30, "name": "pro-2"})

    assert plan["ratelimits"] == [RPM]
    assert plan["quota"] == {"limit": 100, "period": "day", "timezone": "UTC", "offset_s": 0}
    assert (plan["priority"], plan["credits"], plan["concurrency"]) == (0, None, None)
    assert ks.get_plan(plan["id"]) == updated
    assert (updated["name"], updated["priority"], updated["quota"]) == ("pro-2", 30, None)
    assert ks.list_plans() == [updated]
    api = ks.create_api("plans")
    key = ks.create_key(api["id"], plan_id=plan["id"])
    with pytest.raises(ApiError) as in_use:
        ks.delete_plan(plan["id"])
    assert in_use.value.status == 409
    ks.update_key(key["id"], {"plan_id": None})
    ks.delete_plan(plan["id"])
    assert ks.list_plans() == []


def test_owners(app: App) -> None:
    ks = app.client
    owner = ks.put_owner("team/eng", concurrency={"limit": 3})

    assert owner["owner_id"] == "team/eng"
    assert owner["concurrency"] == {"limit": 3, "lease_s": 60.0}
    assert ks.get_owner("team/eng") == owner
    assert [o["owner_id"] for o in ks.list_owners()] == ["team/eng"]
    ks.delete_owner("team/eng")
    with pytest.raises(ApiError) as gone:
        ks.get_owner("team/eng")
    assert gone.value.status == 404


def test_api_limit_settings(app: App) -> None:
    ks = app.client
    api = ks.create_api("edge", limits={"failure_policy": "closed"})

    updated = ks.update_api(api["id"], {"name": "edge-2", "limits": {"ip_ratelimits": [RPM]}})

    assert api["limits"] == {"failure_policy": "closed", "ip_ratelimits": []}
    assert updated["name"] == "edge-2"
    assert updated["limits"] == {"failure_policy": "open", "ip_ratelimits": [RPM]}
    assert ks.get_api(api["id"]) == updated


def test_key_limits_verify_and_credits(app: App) -> None:
    ks = app.client
    api = ks.create_api("metered")
    rpm3 = {**RPM, "limit": 3}
    created = ks.create_key(api["id"], ratelimits=[rpm3], credits={"remaining": 10})

    first = ks.verify_key(created["key"], cost=2)
    second = ks.verify_key(created["key"])
    refused = ks.verify_key(created["key"])
    shown = ks.get_key(created["id"])

    assert created["ratelimits"] == [rpm3]
    assert first["valid"] is True
    assert {item["name"]: item["remaining"] for item in first["limits"]} == {
        "rpm": 1,
        "credits": 8,
    }
    assert second["valid"] is True
    assert (refused["code"], refused["reason"]) == ("RATE_LIMITED", "rpm")
    assert refused["retry_after"] > 0
    assert shown["credits_remaining"] == 7
    reset = ks.update_key(created["id"], {"credits": {"remaining": 50}, "reset_quota": True})
    assert reset["credits"] == {"remaining": 50, "refill": None}
    assert ks.get_key(created["id"])["credits_remaining"] == 50


def test_concurrency_leases_and_release(app: App) -> None:
    ks = app.client
    api = ks.create_api("inflight")
    key = ks.create_key(api["id"], concurrency={"limit": 1, "lease_s": 30})["key"]

    held = ks.verify_key(key)
    busy = ks.verify_key(key)
    ks.release(held["leases"])
    again = ks.verify_key(key, cost=1, ratelimits=[{"name": "x", "limit": 5, "duration_s": 1}])

    assert len(held["leases"]) == 1
    assert (busy["valid"], busy["code"]) == (False, "RATE_LIMITED")
    assert again["valid"] is True
    assert {item["name"] for item in again["limits"]} == {"concurrency", "x"}


def test_failed_attempts(app: App) -> None:
    ks = app.client
    for _ in range(2):
        assert ks.verify_key("ks_guess", ip="192.0.2.9")["code"] == "MALFORMED"

    state = ks.failed_attempts("192.0.2.9")
    other = ks.failed_attempts("192.0.2.10")

    assert (state["ip"], state["failures_seen"], state["blocked_until"]) == ("192.0.2.9", 2, None)
    assert other["failures_seen"] == 0


def test_limit_routes_check_permissions(app: App) -> None:
    narrow = app.client.create_root_key(permissions=["keys.verify"])

    with Client(BASE_URL, narrow["key"], transport=app.transport) as client:
        for call in (client.list_plans, client.list_owners, lambda: client.create_plan("x")):
            with pytest.raises(ApiError) as caught:
                call()
            assert caught.value.status == 403
