"""Limits over HTTP: keys with limits, verify's ``cost``, ``ratelimits``, ``limits``
and ``leases``, lease release and the failed-attempts view. The verify flows run
on the in-memory limiter and on the real Redis (KEYSTEAD_TEST_REDIS_URL)."""

from __future__ import annotations

import math
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpkit import BASE_URL, World, assert_problem, open_world

from keystead.core.clock import ManualClock
from keystead.http import create_app
from keystead.http.app import KeysteadAPI
from keystead.service import Keystead

RPS = {"name": "rps", "limit": 2, "duration_s": 10}


@pytest.fixture
async def world(limited_keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(limited_keystead) as w:
        yield w


async def _verify(world: World, key: str, **fields: Any) -> dict[str, Any]:
    return await world.verify(key, **fields)


async def test_keys_carry_their_limits(world: World) -> None:
    api = await world.api()
    limits = {
        "ratelimits": [RPS, {"name": "day", "limit": 5000, "duration_s": 86_400,
                             "algorithm": "sliding_window"}],
        "quota": {"limit": 100, "period": "day", "timezone": "Europe/Paris"},
        "credits": {"remaining": 50, "refill": {"amount": 10, "interval_s": 3600, "mode": "add",
                                                "cap": 100}},
        "concurrency": {"limit": 3, "lease_s": 30},
    }  # fmt: skip
    created = await world.key(api["id"], **limits)
    assert created["ratelimits"] == [
        {"name": "rps", "limit": 2, "duration_s": 10.0, "algorithm": "gcra"},
        {"name": "day", "limit": 5000, "duration_s": 86_400.0, "algorithm": "sliding_window"},
    ]
    assert created["quota"] == {
        "limit": 100, "period": "day", "timezone": "Europe/Paris", "offset_s": 0
    }  # fmt: skip
    assert created["credits"]["refill"] == {
        "amount": 10, "interval_s": 3600.0, "mode": "add", "cap": 100
    }  # fmt: skip
    assert (created["concurrency"], created["plan_id"]) == ({"limit": 3, "lease_s": 30.0}, None)
    c, h = world.client, world.auth()
    got = (await c.get(f"/v1/keys/{created['id']}", headers=h)).json()
    assert got["credits_remaining"] == 50
    batch = await c.post(
        "/v1/keys/batch", json={"keys": [{"api_id": api["id"], **limits}] * 2}, headers=h
    )
    assert batch.status_code == 201
    assert all(k["quota"] == created["quota"] for k in batch.json()["items"])
    plain = await world.key(api["id"])
    assert (plain["ratelimits"], plain["quota"], plain["credits"]) == ([], None, None)
    got = (await c.get(f"/v1/keys/{plain['id']}", headers=h)).json()
    assert got["credits_remaining"] is None


async def test_limit_errors_name_the_field(world: World) -> None:
    api = await world.api()
    c, h = world.client, world.auth()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"ratelimits": [{**RPS, "limit": 0}]}, "ratelimits[0].limit"),
        ({"ratelimits": [RPS, {**RPS, "duration_s": -1}]}, "ratelimits[1].duration_s"),
        ({"ratelimits": [RPS, RPS]}, "ratelimits[1].name"),
        ({"ratelimits": [{**RPS, "name": "n" * 65}]}, "ratelimits[0].name"),
        ({"ratelimits": [{**RPS, "burst": 5, "algorithm": "sliding_window"}]},
         "ratelimits[0].burst"),
        ({"quota": {"limit": 10, "timezone": "Mars/Olympus"}}, "quota.timezone"),
        ({"quota": {"limit": 10, "period": "day", "offset_s": 86_400}}, "quota.offset_s"),
        ({"credits": {"remaining": -1}}, "credits.remaining"),
        ({"credits": {"remaining": 1, "refill": {"amount": 1, "interval_s": 1, "cap": 5}}},
         "credits.refill.cap"),
        ({"concurrency": {"limit": 0}}, "concurrency.limit"),
    ]  # fmt: skip
    for fields, field in cases:
        response = await c.post("/v1/keys", json={"api_id": api["id"], **fields}, headers=h)
        assert assert_problem(response, 422)["field"] == field, fields
    key = await world.key(api["id"])
    response = await c.patch(
        f"/v1/keys/{key['id']}", json={"ratelimits": [{**RPS, "limit": -5}]}, headers=h
    )
    assert assert_problem(response, 422)["field"] == "ratelimits[0].limit"
    batch = {"keys": [{"api_id": api["id"]}, {"api_id": api["id"], "quota": {"limit": -1}}]}
    assert assert_problem(await c.post("/v1/keys/batch", json=batch, headers=h), 422)["field"]


async def test_updating_credits_quota_and_rate_limits(world: World, clock: ManualClock) -> None:
    api = await world.api()
    key = await world.key(api["id"], credits={"remaining": 3}, quota={"limit": 2, "period": "day"})
    c, h, url = world.client, world.auth(), f"/v1/keys/{key['id']}"
    for _ in range(2):
        assert (await _verify(world, key["key"]))["valid"]
    assert (await _verify(world, key["key"]))["code"] == "USAGE_EXCEEDED"
    assert (await c.get(url, headers=h)).json()["credits_remaining"] == 1
    # credits set the live balance; the quota count is kept ...
    updated = await c.patch(url, json={"credits": {"remaining": 10}}, headers=h)
    assert updated.json()["credits"] == {"remaining": 10, "refill": None}
    assert (await c.get(url, headers=h)).json()["credits_remaining"] == 10
    answer = await _verify(world, key["key"])
    assert (answer["code"], answer["reason"]) == ("USAGE_EXCEEDED", "quota")
    # ... unless reset_quota asks
    assert (await c.patch(url, json={"reset_quota": True}, headers=h)).status_code == 200
    answer = await _verify(world, key["key"])
    assert answer["valid"]
    by_name = {limit["name"]: limit for limit in answer["limits"]}
    assert by_name["quota"]["remaining"] == 1 and by_name["credits"]["remaining"] == 9
    assert by_name["quota"]["window"] == 86_400 and "window" not in by_name["credits"]
    # null clears a limit; rate limits replace the list
    cleared = await c.patch(url, json={"quota": None, "ratelimits": [RPS]}, headers=h)
    assert (cleared.json()["quota"], len(cleared.json()["ratelimits"])) == (None, 1)
    answer = await _verify(world, key["key"])
    assert {limit["name"] for limit in answer["limits"]} == {"rps", "credits"}
    assert assert_problem(await c.patch(url, json={"reset_quota": None}, headers=h), 422)


async def test_verify_reports_limits_and_refusals(world: World, clock: ManualClock) -> None:
    api = await world.api()
    key = (await world.key(api["id"], ratelimits=[RPS]))["key"]
    first = await _verify(world, key)
    assert first["valid"] and "retry_after" not in first and "leases" not in first
    assert first["limits"] == [
        {"name": "rps", "kind": "rate_limit", "limit": 2, "remaining": 1,
         "reset": math.ceil(clock.now() + 5), "window": 10},
    ]  # fmt: skip
    assert (await _verify(world, key))["limits"][0]["remaining"] == 0
    refused = await _verify(world, key)  # still HTTP 200: a verification result
    assert (refused["valid"], refused["code"], refused["reason"]) == (False, "RATE_LIMITED", "rps")
    assert refused["retry_after"] == 5.0
    assert refused["limits"][0]["retry_after"] == 5.0
    assert refused["key_id"] and "shed" not in refused
    clock.advance(5)
    assert (await _verify(world, key))["valid"]


async def test_cost_is_spent_on_every_limit(world: World) -> None:
    api = await world.api()
    key = (await world.key(api["id"], credits={"remaining": 10}, ratelimits=[RPS]))["key"]
    answer = await _verify(world, key, cost=0)
    assert [limit["remaining"] for limit in answer["limits"]] == [2, 10]
    answer = await _verify(world, key, cost=2)
    assert [limit["remaining"] for limit in answer["limits"]] == [0, 8]
    refused = await _verify(world, key, cost=9)
    assert refused["code"] in ("RATE_LIMITED", "USAGE_EXCEEDED")
    assert (await _verify(world, key, cost=None))["code"] == "RATE_LIMITED"  # null: 1
    for cost in (-1, 10**9 + 1, 1.5, "1", True):
        response = await world.client.post(
            "/v1/keys/verify", json={"key": key, "cost": cost}, headers=world.auth()
        )
        assert assert_problem(response, 422)["errors"][0]["loc"] == ["body", "cost"], cost


async def test_per_call_rate_limits(world: World) -> None:
    api = await world.api()
    key = (await world.key(api["id"], ratelimits=[{**RPS, "limit": 100}]))["key"]
    extra = [{"name": "search", "limit": 1, "duration_s": 60}]
    answer = await _verify(world, key, ratelimits=extra)
    assert answer["valid"] and [x["name"] for x in answer["limits"]] == ["rps", "search"]
    answer = await _verify(world, key, ratelimits=extra)
    assert (answer["code"], answer["reason"]) == ("RATE_LIMITED", "search")
    assert (await _verify(world, key))["valid"]  # only calls that name it count
    c, h = world.client, world.auth()
    bad: list[tuple[Any, str]] = [
        ([{"name": "a", "limit": 0, "duration_s": 1}], "ratelimits[0].limit"),
        ([extra[0], {"name": "b", "limit": 1, "duration_s": 0}], "ratelimits[1].duration_s"),
        ([extra[0], extra[0]], "ratelimits[1].name"),
        ([{"name": "a", "limit": 1}], "ratelimits[0].duration_s"),
        ([{"name": "a", "limit": 1, "duration_s": 1, "x": 1}], "ratelimits[0].x"),
        ([7], "ratelimits[0]"),
    ]
    for ratelimits, field in bad:
        response = await c.post(
            "/v1/keys/verify", json={"key": key, "ratelimits": ratelimits}, headers=h
        )
        assert assert_problem(response, 422)["field"] == field, ratelimits
    many = [{"name": f"r{i}", "limit": 1, "duration_s": 1} for i in range(21)]
    response = await c.post("/v1/keys/verify", json={"key": key, "ratelimits": many}, headers=h)
    assert assert_problem(response, 422)["errors"][0]["loc"] == ["body", "ratelimits"]


async def test_per_call_rate_limits_count_per_key(world: World) -> None:
    api = await world.api()
    one, two = (await world.key(api["id"]))["key"], (await world.key(api["id"]))["key"]
    extra = [{"name": f"search-{secrets.token_hex(4)}", "limit": 1, "duration_s": 60}]
    assert (await _verify(world, one, ratelimits=extra))["valid"]
    assert (await _verify(world, two, ratelimits=extra))["valid"]


async def test_every_limit_is_reported_with_owner_limits(world: World) -> None:
    api = await world.api()
    c, h = world.client, world.auth()
    assert (await c.put("/v1/owners/o", json={"ratelimits": [RPS]}, headers=h)).status_code == 200
    key = (await world.key(api["id"], owner_id="o"))["key"]
    extra = [{"name": "search", "limit": 5, "duration_s": 60}]
    answer = await _verify(world, key, ratelimits=extra)
    assert [limit["name"] for limit in answer["limits"]] == ["owner.rps", "search"]


async def test_concurrency_leases_and_release(world: World, keystead: Keystead) -> None:
    api = await world.api()
    key = (await world.key(api["id"], concurrency={"limit": 1, "lease_s": 60}))["key"]
    first = await _verify(world, key)
    assert first["valid"] and len(first["leases"]) == 1
    refused = await _verify(world, key)
    assert (refused["code"], refused["reason"]) == ("RATE_LIMITED", "concurrency")
    c, h = world.client, world.auth()
    # another workspace cannot release our leases, even knowing the token
    other = await keystead.workspaces.create("other")
    foreign = world.auth(other.root_key.plaintext)
    response = await c.post("/v1/keys/verify/release", json=first, headers=foreign)
    assert_problem(response, 422)  # the whole verify answer is not a release body
    response = await c.post(
        "/v1/keys/verify/release", json={"leases": first["leases"]}, headers=foreign
    )
    assert response.status_code == 204
    assert (await _verify(world, key))["code"] == "RATE_LIMITED"
    response = await c.post("/v1/keys/verify/release", json={"leases": first["leases"]}, headers=h)
    assert (response.status_code, response.content) == (204, b"")
    assert (await _verify(world, key))["valid"]
    for leases in (["x|y", "nonsense", "{ws_x}k:|"], []):
        response = await c.post("/v1/keys/verify/release", json={"leases": leases}, headers=h)
        assert response.status_code == 204  # unknown leases are ignored
    bad: list[dict[str, Any]] = [{"leases": "x"}, {"leases": [""]}, {"leases": ["x" * 513]}, {}]
    for body in bad:
        assert_problem(await c.post("/v1/keys/verify/release", json=body, headers=h), 422)
    only_verify = world.auth(await world.root_key_with(["keys.verify"]))
    response = await c.post("/v1/keys/verify/release", json={"leases": []}, headers=only_verify)
    assert response.status_code == 204


async def test_failed_attempts_view(world: World, clock: ManualClock) -> None:
    c, h = world.client, world.auth()
    url = "/v1/limits/failed_attempts"
    ip = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"  # counters are global
    clean = (await c.get(url, params={"ip": ip}, headers=h)).json()
    window = world.ks.settings.failed_attempts_window_s
    assert clean == {
        "ip": ip,
        "failures_seen": 0,
        "blocked_until": None,
        "enabled": True,
        "limit": 3,
        "window_s": window,
        "remaining": 3,
        "reset": math.ceil(clock.now()),
    }
    assert (await c.get(url, params={"ip": ip}, headers=h)).json() == clean  # reads only
    for _ in range(4):  # the limit is 3 per window here
        await _verify(world, "garbage", ip=ip)
    state = (await c.get(url, params={"ip": ip}, headers=h)).json()
    assert state["failures_seen"] == 4
    assert state["blocked_until"] is not None and state["blocked_until"] > clock.now()
    assert state["remaining"] == 0 and state["reset"] > clock.now()
    refused = await _verify(world, "garbage", ip=ip)
    assert (refused["code"], refused["reason"]) == ("RATE_LIMITED", "failed_attempts")
    assert refused["retry_after"] > 0
    for params in ({}, {"ip": ""}, {"ip": "a" * 129}, {"ip": "a\x00b"}):
        assert_problem(await c.get(url, params=params, headers=h), 422)


async def test_the_routed_path_answers_like_the_fast_path(world: World) -> None:
    api = await world.api()
    rate = {**RPS, "limit": 100}
    key = (await world.key(api["id"], ratelimits=[rate], concurrency={"limit": 5}))["key"]
    app = create_app(world.ks)
    assert isinstance(app, KeysteadAPI)
    app.fast_routes = {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL
    ) as routed:
        extra = [{"name": "x", "limit": 9, "duration_s": 1}]
        for body in ({"key": key}, {"key": key, "cost": 0, "ratelimits": extra}, {"key": key}):
            fast = await world.client.post("/v1/keys/verify", json=body, headers=world.auth())
            slow = await routed.post("/v1/keys/verify", json=body, headers=world.auth())
            one, two = fast.json(), slow.json()
            assert set(one) == set(two) and one["code"] == two["code"] == "VALID"
            assert [x["name"] for x in one["limits"]] == [x["name"] for x in two["limits"]]
        bad = {"key": key, "ratelimits": [{"name": "x", "limit": -1, "duration_s": 1}]}
        fast = await world.client.post("/v1/keys/verify", json=bad, headers=world.auth())
        slow = await routed.post("/v1/keys/verify", json=bad, headers=world.auth())
        assert assert_problem(fast, 422) == assert_problem(slow, 422)
