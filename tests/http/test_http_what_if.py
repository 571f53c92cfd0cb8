"""``POST /v1/analytics/what-if`` and ``GET /v1/keys?plan_id&environment&q`` over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpkit import World, assert_problem, open_world

from keystead.core.clock import ManualClock
from keystead.core.usage import UsageRecord
from keystead.service import Keystead

DAY = 86_400


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


async def _plan(w: World) -> tuple[str, str]:
    api = await w.api("replayed")
    response = await w.client.post("/v1/plans", json={"name": "free"}, headers=w.auth())
    assert response.status_code == 201, response.text
    return api["id"], response.json()["id"]


async def test_what_if_over_http(world: World, clock: ManualClock) -> None:
    api_id, plan_id = await _plan(world)
    keys = [await world.key(api_id, owner_id=o, plan_id=plan_id) for o in ("carol", "dan")]
    day = (clock.now() // DAY - 1) * DAY
    records = [
        UsageRecord(day + 40 * i, world.workspace_id, api_id, key["id"], key["owner_id"], "VALID")
        for key, uses in zip(keys, (1200, 300), strict=True)
        for i in range(uses)
    ]
    await world.ks.store.write_usage(records, {})
    body: dict[str, Any] = {
        "plan_id": plan_id,
        "proposal": {"quota": {"limit": 1000, "period": "day"}},
        "days": 2,
        "granularity": "day",
    }
    response = await world.client.post("/v1/analytics/what-if", json=body, headers=world.auth())
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["totals"] == {
        "requests": 1500,
        "refused": 200,
        "keys_replayed": 2,
        "keys_refused": 1,
        "owners_refused": 1,
    }
    assert got["owners"] == [
        {"owner_id": "carol", "requests": 1200, "refused": 200},
        {"owner_id": "dan", "requests": 300, "refused": 0},
    ]
    assert got["keys"][0]["key_id"] == keys[0]["id"]
    assert [b["refused"] for b in got["buckets"] if b["refused"]] == [200]
    assert got["proposal"]["quota"]["limit"] == 1000 and got["notes"] == []

    for bad, field in (
        ({**body, "proposal": {"concurrency": {"limit": 1}}}, "concurrency"),
        ({**body, "proposal": {"quota": {"limit": -1}}}, "proposal.quota.limit"),
        ({**body, "days": 40}, "days"),
        ({**body, "granularity": "week"}, "granularity"),
        ({**body, "key_id": keys[0]["id"]}, "scope"),
    ):
        problem = assert_problem(
            await world.client.post("/v1/analytics/what-if", json=bad, headers=world.auth()), 422
        )
        assert field in str(problem), problem
    unknown = {**body, "plan_id": "plan_0000000000AAAAAAAAAAAAAAAA"}
    assert_problem(
        await world.client.post("/v1/analytics/what-if", json=unknown, headers=world.auth()), 404
    )


async def test_key_list_filters_over_http(world: World) -> None:
    api_id, plan_id = await _plan(world)
    a = await world.key(api_id, name="Checkout", owner_id="acme", plan_id=plan_id)
    b = await world.key(api_id, name="reports", owner_id="acme-eu", environment="test")
    h = world.auth()

    async def ids(**params: str) -> list[str]:
        response = await world.client.get("/v1/keys", params=params, headers=h)
        assert response.status_code == 200, response.text
        return [k["id"] for k in response.json()["items"]]

    assert await ids(plan_id=plan_id) == [a["id"]]
    assert await ids(environment="test") == [b["id"]]
    assert await ids(q="checkOUT") == [a["id"]]
    assert sorted(await ids(q="acme")) == sorted([a["id"], b["id"]])  # same instant: id order
    assert await ids(q=b["start"]) == [b["id"]]
    for params, field in (
        ({"plan_id": "free"}, "plan_id"),
        ({"environment": "Bad Env"}, "environment"),
        ({"q": ""}, "q"),
        ({"q": "x" * 201}, "q"),
    ):
        problem = assert_problem(await world.client.get("/v1/keys", params=params, headers=h), 422)
        assert field in str(problem), problem
