"""``/v1/keys`` over HTTP: create, batch, read, list, update, state changes, delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpkit import World, assert_problem, iso, open_world

from keystead.core.clock import ManualClock
from keystead.service import Keystead

KEY_FIELDS = {
    "id", "start", "prefix", "api_id", "name", "owner_id", "meta", "permissions", "roles",
    "enabled", "environment", "not_before", "expires_at", "restrictions", "created_at",
    "updated_at", "last_used_at", "revoked_at", "created_by", "state",
    "ratelimits", "quota", "credits", "concurrency", "plan_id",
    "rotation_policy", "rotated_from", "rotated_to",
}  # fmt: skip


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


async def test_create_reveals_the_key_once(world: World, clock: ManualClock) -> None:
    api = await world.api(prefix="doc")
    created = await world.key(
        api["id"],
        name="ci",
        owner_id="user-1",
        meta={"plan": "pro", "n": [1, 2]},
        permissions=["doc.read"],
        environment="test",
        not_before=iso(clock.now() - 60),
        expires_at="2030-01-01T01:00:00+01:00",
        restrictions={"methods": ["get"]},
    )
    assert set(created) == KEY_FIELDS | {"key"}
    assert created["key"].startswith("doc_test_")
    assert created["start"] == created["key"][: len("doc_test_") + 4]
    assert created["prefix"] == "doc_test"
    assert created["expires_at"] == "2030-01-01T00:00:00Z"  # normalised to UTC
    assert created["not_before"] == iso(clock.now() - 60)
    assert created["restrictions"] == {"methods": ["GET"]}
    assert (created["state"], created["enabled"], created["revoked_at"]) == ("active", True, None)
    assert created["created_by"].startswith("root_key:")

    fetched = await world.client.get(f"/v1/keys/{created['id']}", headers=world.auth())
    assert fetched.status_code == 200
    assert set(fetched.json()) == KEY_FIELDS | {"credits_remaining"}
    assert "key" not in fetched.json()
    assert created["key"] not in fetched.text
    expected = {k: v for k, v in created.items() if k != "key"}
    assert fetched.json() == {**expected, "credits_remaining": None}


async def test_batch_is_all_or_nothing(world: World) -> None:
    c, h = world.client, world.auth()
    api = await world.api()
    specs = [{"api_id": api["id"], "name": f"k{i}"} for i in range(5)]
    response = await c.post("/v1/keys/batch", json={"keys": specs}, headers=h)
    assert response.status_code == 201, response.text
    items = response.json()["items"]
    assert sorted(i["name"] for i in items) == [f"k{i}" for i in range(5)]
    assert len({i["key"] for i in items}) == 5

    bad = [*specs, {"api_id": api["id"], "permissions": ["not valid"]}]
    assert_problem(await c.post("/v1/keys/batch", json={"keys": bad}, headers=h), 422)
    listed = (await c.get("/v1/keys", headers=h)).json()["items"]
    assert len(listed) == 5  # nothing of the failed batch was stored

    assert_problem(await c.post("/v1/keys/batch", json={"keys": []}, headers=h), 422)
    too_many = [{"api_id": api["id"]}] * 1001
    problem = assert_problem(
        await c.post("/v1/keys/batch", json={"keys": too_many}, headers=h), 422
    )
    assert problem["errors"][0]["loc"] == ["body", "keys"]


async def test_list_pages_with_a_cursor(world: World) -> None:
    c, h = world.client, world.auth()
    api = await world.api()
    created = await c.post(
        "/v1/keys/batch", json={"keys": [{"api_id": api["id"]} for _ in range(7)]}, headers=h
    )
    everything = (await c.get("/v1/keys", headers=h)).json()
    assert everything["next_cursor"] is None
    ids = [k["id"] for k in everything["items"]]
    assert sorted(ids) == sorted(k["id"] for k in created.json()["items"])

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await c.get("/v1/keys", params=params, headers=h)).json()
        assert all("key" not in item for item in page["items"])
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert pages == 3


async def test_list_filters(world: World, clock: ManualClock) -> None:
    c, h = world.client, world.auth()
    one, two = await world.api("one"), await world.api("two")
    a = await world.key(one["id"], owner_id="alice")
    b = await world.key(one["id"], owner_id="bob")
    x = await world.key(two["id"], owner_id="alice", expires_at=iso(clock.now() + 10))
    await c.post(f"/v1/keys/{b['id']}/disable", headers=h)

    async def ids(**params: Any) -> set[str]:
        response = await c.get("/v1/keys", params=params, headers=h)
        assert response.status_code == 200, response.text
        return {k["id"] for k in response.json()["items"]}

    assert await ids(api_id=one["id"]) == {a["id"], b["id"]}
    assert await ids(owner_id="alice") == {a["id"], x["id"]}
    assert await ids(api_id=two["id"], owner_id="alice") == {x["id"]}
    assert await ids(state="disabled") == {b["id"]}
    assert await ids(state="active") == {a["id"], x["id"]}
    clock.advance(10)
    assert await ids(state="expired") == {x["id"]}
    assert await ids(owner_id="nobody") == set()
    assert_problem(await c.get("/v1/keys", params={"state": "sleeping"}, headers=h), 422)


async def test_patch_keeps_omitted_and_clears_null(world: World) -> None:
    c, h = world.client, world.auth()
    api = await world.api()
    key = await world.key(
        api["id"], name="n", owner_id="o", meta={"a": 1}, permissions=["p.q"], expires_at=iso(2e9)
    )
    url = f"/v1/keys/{key['id']}"

    response = await c.patch(url, json={"name": "renamed"}, headers=h)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "key" not in body
    assert (body["name"], body["owner_id"], body["meta"]) == ("renamed", "o", {"a": 1})
    assert (body["permissions"], body["expires_at"]) == (["p.q"], iso(2e9))

    response = await c.patch(
        url, json={"owner_id": None, "expires_at": None, "meta": None}, headers=h
    )
    body = response.json()
    assert (body["name"], body["owner_id"], body["meta"], body["expires_at"]) == (
        "renamed", None, {}, None,
    )  # fmt: skip
    assert body["permissions"] == ["p.q"]

    response = await c.patch(url, json={}, headers=h)
    assert response.status_code == 200
    assert response.json()["name"] == "renamed"

    response = await c.patch(
        url,
        json={"permissions": None, "restrictions": {"ips": {"allow": ["10.0.0.0/8"]}}},
        headers=h,
    )
    assert response.json()["permissions"] == []
    assert response.json()["restrictions"] == {"ips": {"allow": ["10.0.0.0/8"]}}

    assert_problem(await c.patch(url, json={"enabled": None}, headers=h), 422)
    assert_problem(await c.patch(url, json={"environment": "live"}, headers=h), 422)
    assert_problem(await c.patch(url, json={"api_id": api["id"]}, headers=h), 422)
    problem = assert_problem(
        await c.patch(url, json={"not_before": iso(3e9), "expires_at": iso(2e9)}, headers=h), 422
    )
    assert problem["field"] == "expires_at"


async def test_disable_enable_revoke_delete(world: World) -> None:
    c, h = world.client, world.auth()
    api = await world.api()
    key = await world.key(api["id"])
    url = f"/v1/keys/{key['id']}"

    disabled = await c.post(f"{url}/disable", headers=h)
    assert disabled.status_code == 200
    assert (disabled.json()["enabled"], disabled.json()["state"]) == (False, "disabled")
    assert (await world.verify(key["key"]))["code"] == "DISABLED"

    enabled = await c.post(f"{url}/enable", headers=h)
    assert (enabled.json()["enabled"], enabled.json()["state"]) == (True, "active")
    assert (await world.verify(key["key"]))["code"] == "VALID"

    revoked = await c.post(f"{url}/revoke", headers=h)
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    assert revoked.json()["revoked_at"].endswith("Z")
    again = await c.post(f"{url}/revoke", headers=h)
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert_problem(await c.post(f"{url}/enable", headers=h), 409)
    assert_problem(await c.patch(url, json={"enabled": True}, headers=h), 409)
    assert (await world.verify(key["key"]))["code"] == "REVOKED"

    assert (await c.delete(url, headers=h)).status_code == 204
    assert_problem(await c.get(url, headers=h), 404)
    assert_problem(await c.delete(url, headers=h), 404)
    assert (await world.verify(key["key"]))["code"] == "NOT_FOUND"


async def test_states_follow_the_clock(world: World, clock: ManualClock) -> None:
    api = await world.api()
    key = await world.key(
        api["id"], not_before=iso(clock.now() + 60), expires_at=iso(clock.now() + 120)
    )
    url = f"/v1/keys/{key['id']}"
    assert key["state"] == "pending"
    clock.advance(60)
    assert (await world.client.get(url, headers=world.auth())).json()["state"] == "active"
    clock.advance(60)
    assert (await world.client.get(url, headers=world.auth())).json()["state"] == "expired"


async def test_unknown_ids_are_404(world: World) -> None:
    c, h = world.client, world.auth()
    ghost = "key_01JZ8Q3V6N2X7R4M5T9K0W1B2C"
    for method, path in [
        ("GET", ghost), ("PATCH", ghost), ("DELETE", ghost),
        ("POST", f"{ghost}/revoke"), ("POST", f"{ghost}/enable"), ("POST", f"{ghost}/disable"),
    ]:  # fmt: skip
        body: dict[str, str] | None = {} if method == "PATCH" else None
        response = await c.request(method, f"/v1/keys/{path}", json=body, headers=h)
        assert ghost in assert_problem(response, 404)["detail"]
    problem = assert_problem(
        await c.post("/v1/keys", json={"api_id": "api_01JZ8Q3V6N2X7R4M5T9K0W1B2C"}, headers=h), 404
    )
    assert "API" in problem["detail"]
