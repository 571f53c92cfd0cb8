"""``/v1/plans``, ``/v1/owners`` and ``PATCH /v1/apis/{id}`` over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpkit import World, assert_problem, open_world

from keystead.service import Keystead

RPS = {"name": "rps", "limit": 1, "duration_s": 60}
PLAN_FIELDS = {"id", "name", "priority", "ratelimits", "quota", "credits", "concurrency",
               "created_at", "updated_at"}  # fmt: skip


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


async def test_plan_crud(world: World) -> None:
    c, h = world.client, world.auth()
    body = {"name": "pro", "ratelimits": [RPS], "quota": {"limit": 1000}, "priority": 60}
    response = await c.post("/v1/plans", json=body, headers=h)
    assert response.status_code == 201, response.text
    plan = response.json()
    assert set(plan) == PLAN_FIELDS and plan["id"].startswith("plan_")
    assert (plan["name"], plan["priority"], plan["credits"]) == ("pro", 60, None)
    assert plan["quota"] == {"limit": 1000, "period": "month", "timezone": "UTC", "offset_s": 0}
    url = f"/v1/plans/{plan['id']}"
    assert (await c.get(url, headers=h)).json() == plan
    assert (await c.get("/v1/plans", headers=h)).json() == {"items": [plan]}
    assert_problem(await c.post("/v1/plans", json={"name": "pro"}, headers=h), 409)
    # partial update: omitted kept, null clears a limit field
    changed = (await c.patch(url, json={"quota": None, "priority": 70}, headers=h)).json()
    assert (changed["quota"], changed["priority"], changed["ratelimits"]) == (
        None,
        70,
        plan["ratelimits"],
    )
    changed = await c.patch(url, json={"name": "pro+", "credits": {"remaining": 5}}, headers=h)
    assert (changed.json()["name"], changed.json()["credits"]["remaining"]) == ("pro+", 5)
    assert (await c.delete(url, headers=h)).status_code == 204
    assert_problem(await c.get(url, headers=h), 404)
    assert_problem(await c.delete(url, headers=h), 404)
    assert_problem(await c.patch(url, json={"priority": 1}, headers=h), 404)


async def test_plan_errors(world: World) -> None:
    c, h = world.client, world.auth()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "p", "priority": 101}, "priority"),
        ({"name": "p", "priority": -1}, "priority"),
        ({"name": "p", "ratelimits": [{**RPS, "limit": 0}]}, "ratelimits[0].limit"),
        ({"name": "p", "concurrency": {"limit": 2, "lease_s": 10**9}}, "concurrency.lease_s"),
    ]
    for body, field in cases:
        assert (
            assert_problem(await c.post("/v1/plans", json=body, headers=h), 422)["field"] == field
        )
    for body in ({}, {"name": ""}, {"name": "p", "tier": 1}, {"name": "p", "priority": "1"},
                 {"name": "p", "quota": {"limit": 1, "period": "year"}}):  # fmt: skip
        assert assert_problem(await c.post("/v1/plans", json=body, headers=h), 422)["errors"]
    plan = (await c.post("/v1/plans", json={"name": "p"}, headers=h)).json()
    url = f"/v1/plans/{plan['id']}"
    assert assert_problem(await c.patch(url, json={"name": None}, headers=h), 422)["field"]
    assert_problem(await c.patch(url, json={"id": "plan_x"}, headers=h), 422)
    assert_problem(await c.get("/v1/plans/nope", headers=h), 422)
    assert_problem(await c.get("/v1/plans/plan_01JZ8Q3V6N2X7R4M5T9K0W1B2C", headers=h), 404)


async def test_keys_follow_their_plan(world: World) -> None:
    c, h = world.client, world.auth()
    api = await world.api()
    plan = (await c.post("/v1/plans", json={"name": "free", "ratelimits": [RPS]}, headers=h)).json()
    key = await world.key(api["id"], plan_id=plan["id"])
    assert (key["plan_id"], key["ratelimits"]) == (plan["id"], [])  # the key's own: none
    assert (await world.verify(key["key"]))["valid"]
    assert (await world.verify(key["key"]))["reason"] == "rps"
    # the plan changes: every key on it at once
    raised = {"ratelimits": [{**RPS, "limit": 5}]}
    assert (await c.patch(f"/v1/plans/{plan['id']}", json=raised, headers=h)).status_code == 200
    answer = await world.verify(key["key"])
    assert answer["valid"] and answer["limits"][0]["limit"] == 5
    # the key's own entries replace the plan's
    own = {"ratelimits": [{**RPS, "limit": 2}]}
    await c.patch(f"/v1/keys/{key['id']}", json=own, headers=h)
    assert (await world.verify(key["key"]))["limits"][0]["limit"] == 2
    # a plan in use cannot go; moving the key frees it
    assert_problem(await c.delete(f"/v1/plans/{plan['id']}", headers=h), 409)
    moved = await c.patch(f"/v1/keys/{key['id']}", json={"plan_id": None}, headers=h)
    assert moved.json()["plan_id"] is None
    assert (await c.delete(f"/v1/plans/{plan['id']}", headers=h)).status_code == 204
    # plans of another workspace are not there
    other = await world.ks.workspaces.create("other")
    theirs = await c.post(
        "/v1/plans", json={"name": "t"}, headers=world.auth(other.root_key.plaintext)
    )
    for body in ({"api_id": api["id"], "plan_id": theirs.json()["id"]},):
        assert_problem(await c.post("/v1/keys", json=body, headers=h), 404)
    patch = {"plan_id": theirs.json()["id"]}
    assert_problem(await c.patch(f"/v1/keys/{key['id']}", json=patch, headers=h), 404)
    assert_problem(
        await c.post("/v1/keys", json={"api_id": api["id"], "plan_id": "x"}, headers=h), 422
    )


async def test_owner_limits(world: World) -> None:
    c, h = world.client, world.auth()
    body = {"ratelimits": [{**RPS, "limit": 2}], "credits": {"remaining": 100}}
    response = await c.put("/v1/owners/team-a", json=body, headers=h)
    assert response.status_code == 200, response.text
    owner = response.json()
    assert owner["owner_id"] == "team-a" and owner["credits"]["remaining"] == 100
    assert (await c.get("/v1/owners/team-a", headers=h)).json() == owner
    assert (await c.get("/v1/owners", headers=h)).json() == {"items": [owner]}
    # shared by every key of the owner
    api = await world.api()
    one = await world.key(api["id"], owner_id="team-a")
    two = await world.key(api["id"], owner_id="team-a")
    assert (await world.verify(one["key"]))["valid"]
    assert (await world.verify(two["key"]))["valid"]
    refused = await world.verify(one["key"])
    assert (refused["code"], refused["reason"]) == ("RATE_LIMITED", "owner.rps")
    # PUT replaces the whole set
    replaced = (await c.put("/v1/owners/team-a", json={"quota": {"limit": 9}}, headers=h)).json()
    assert (replaced["ratelimits"], replaced["credits"], replaced["quota"]["limit"]) == (
        [],
        None,
        9,
    )
    assert (await c.delete("/v1/owners/team-a", headers=h)).status_code == 204
    assert_problem(await c.get("/v1/owners/team-a", headers=h), 404)
    assert_problem(await c.delete("/v1/owners/team-a", headers=h), 404)


async def test_owner_ids_are_the_users_strings(world: World) -> None:
    c, h = world.client, world.auth()
    for owner_id, path in [("team/eng", "team%2Feng"), ("a b%c", "a%20b%25c"),
                           ("ünï·cödé", "%C3%BCn%C3%AF%C2%B7c%C3%B6d%C3%A9"),
                           ("o" * 200, "o" * 200), ("x?y#z", "x%3Fy%23z"),
                           ("line\nbreak", "line%0Abreak")]:  # fmt: skip
        response = await c.put(f"/v1/owners/{path}", json={}, headers=h)
        assert response.status_code == 200, (owner_id, response.text)
        assert response.json()["owner_id"] == owner_id
        assert (await c.get(f"/v1/owners/{path}", headers=h)).json()["owner_id"] == owner_id
    listed = {o["owner_id"] for o in (await c.get("/v1/owners", headers=h)).json()["items"]}
    assert "team/eng" in listed and len(listed) == 6
    for path in ("o" * 201, "a%00b"):
        assert_problem(await c.put(f"/v1/owners/{path}", json={}, headers=h), 422)
    assert_problem(await c.put("/v1/owners/x", json={"quota": {"limit": -1}}, headers=h), 422)
    assert_problem(await c.put("/v1/owners/x", json={"name": "x"}, headers=h), 422)


async def test_update_an_api_and_its_limits(world: World) -> None:
    c, h = world.client, world.auth()
    limits = {"failure_policy": "closed", "ip_ratelimits": [RPS]}
    api = await world.api("edge", limits=limits)
    assert api["limits"] == {
        "failure_policy": "closed",
        "ip_ratelimits": [{"name": "rps", "limit": 1, "duration_s": 60.0, "algorithm": "gcra"}],
    }
    url = f"/v1/apis/{api['id']}"
    key = (await world.key(api["id"]))["key"]
    assert (await world.verify(key, ip="198.51.100.1"))["valid"]
    refused = await world.verify(key, ip="198.51.100.1")
    assert (refused["code"], refused["reason"]) == ("RATE_LIMITED", "rps")
    assert (await world.verify(key, ip="198.51.100.2"))["valid"]  # per client IP
    renamed = (await c.patch(url, json={"name": "edge2"}, headers=h)).json()
    assert (renamed["name"], renamed["limits"]) == ("edge2", api["limits"])
    cleared = (await c.patch(url, json={"limits": None}, headers=h)).json()
    assert cleared["limits"] == {"failure_policy": "open", "ip_ratelimits": []}
    assert (await world.verify(key, ip="198.51.100.1"))["valid"]  # at once
    defaults = {"key_defaults": {"permissions": ["a.b"]}}
    assert (await c.patch(url, json=defaults, headers=h)).json()["key_defaults"] == {
        "permissions": ["a.b"]
    }
    await world.api("taken")
    assert_problem(await c.patch(url, json={"name": "taken"}, headers=h), 409)
    for body in ({"limits": {"failure_policy": "maybe"}}, {"prefix": "zz"}, {"name": None},
                 {"limits": {"ip_ratelimits": [{**RPS, "limit": 0}]}}):  # fmt: skip
        assert_problem(await c.patch(url, json=body, headers=h), 422)
    response = await c.patch(
        url, json={"limits": {"ip_ratelimits": [{**RPS, "limit": 0}]}}, headers=h
    )
    assert assert_problem(response, 422)["field"] == "limits.ip_ratelimits[0].limit"
