"""``/v1/apis`` and roles over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from httpkit import World, assert_problem, open_world

from keystead.service import Keystead


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


async def test_api_crud(world: World) -> None:
    c, h = world.client, world.auth()
    created = await world.api("documents", prefix="doc")
    assert set(created) == {
        "id", "name", "prefix", "key_defaults", "limits", "rotation_policy", "created_at",
        "updated_at",
    }  # fmt: skip
    assert created["limits"] == {"failure_policy": "open", "ip_ratelimits": []}
    assert (created["name"], created["prefix"], created["key_defaults"]) == ("documents", "doc", {})
    assert created["id"].startswith("api_")
    assert created["created_at"].endswith("Z")

    fetched = await c.get(f"/v1/apis/{created['id']}", headers=h)
    assert fetched.status_code == 200
    assert fetched.json() == created

    other = await world.api("billing")
    listed = await c.get("/v1/apis", headers=h)
    assert listed.status_code == 200
    assert {a["id"] for a in listed.json()["items"]} == {created["id"], other["id"]}

    deleted = await c.delete(f"/v1/apis/{created['id']}", headers=h)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_problem(await c.get(f"/v1/apis/{created['id']}", headers=h), 404)
    assert_problem(await c.delete(f"/v1/apis/{created['id']}", headers=h), 404)


async def test_default_prefix_and_key_defaults(world: World) -> None:
    api = await world.api("defaults", key_defaults={"permissions": ["a.read"], "meta": {"t": 1}})
    assert api["prefix"] == "ks"
    assert api["key_defaults"] == {"permissions": ["a.read"], "meta": {"t": 1}}
    key = await world.key(api["id"])
    assert key["key"].startswith("ks_")
    assert (key["permissions"], key["meta"]) == (["a.read"], {"t": 1})
    # a field given explicitly wins over the default, even null
    key = await world.key(api["id"], permissions=["b.write"], meta=None)
    assert (key["permissions"], key["meta"]) == (["b.write"], {})


async def test_duplicate_name_and_api_with_keys_conflict(world: World) -> None:
    api = await world.api("dup")
    problem = assert_problem(
        await world.client.post("/v1/apis", json={"name": "dup"}, headers=world.auth()), 409
    )
    assert "dup" in problem["detail"]
    await world.key(api["id"])
    problem = assert_problem(
        await world.client.delete(f"/v1/apis/{api['id']}", headers=world.auth()), 409
    )
    assert "keys" in problem["detail"]


async def test_invalid_api_fields(world: World) -> None:
    c, h = world.client, world.auth()
    problem = assert_problem(
        await c.post("/v1/apis", json={"name": "x", "prefix": "9"}, headers=h), 422
    )
    assert problem["field"] == "prefix"
    problem = assert_problem(
        await c.post("/v1/apis", json={"name": "x", "prefix": "ksroot"}, headers=h), 422
    )
    assert "reserved" in problem["detail"]
    problem = assert_problem(
        await c.post("/v1/apis", json={"name": "x", "key_defaults": {"nope": 1}}, headers=h), 422
    )
    assert "nope" in problem["detail"]
    assert_problem(await c.post("/v1/apis", json={"name": ""}, headers=h), 422)
    assert_problem(await c.post("/v1/apis", json={}, headers=h), 422)


async def test_roles_crud(world: World) -> None:
    c, h = world.client, world.auth()
    api = await world.api()
    base = f"/v1/apis/{api['id']}/roles"
    put = await c.put(
        f"{base}/reader",
        json={"permissions": ["doc.read", "doc.list"], "description": "r"},
        headers=h,
    )
    assert put.status_code == 200, put.text
    role = put.json()
    assert set(role) == {"api_id", "name", "permissions", "description", "created_at", "updated_at"}
    assert (role["api_id"], role["name"], role["description"]) == (api["id"], "reader", "r")
    assert sorted(role["permissions"]) == ["doc.list", "doc.read"]

    # PUT replaces
    put = await c.put(f"{base}/reader", json={"permissions": ["doc.read"]}, headers=h)
    assert put.status_code == 200
    assert (put.json()["permissions"], put.json()["description"]) == (["doc.read"], None)
    await c.put(f"{base}/writer", json={"permissions": ["doc.write"]}, headers=h)

    listed = await c.get(base, headers=h)
    assert listed.status_code == 200
    assert sorted(r["name"] for r in listed.json()["items"]) == ["reader", "writer"]

    deleted = await c.delete(f"{base}/writer", headers=h)
    assert deleted.status_code == 204
    assert [r["name"] for r in (await c.get(base, headers=h)).json()["items"]] == ["reader"]
    assert_problem(await c.delete(f"{base}/writer", headers=h), 404)


async def test_role_changes_reach_keys_at_once(world: World) -> None:
    c, h = world.client, world.auth()
    api = await world.api()
    base = f"/v1/apis/{api['id']}/roles"
    await c.put(f"{base}/reader", json={"permissions": ["doc.read"]}, headers=h)
    key = await world.key(api["id"], roles=["reader"])
    assert (await world.verify(key["key"], permissions="doc.read"))["valid"] is True
    await c.put(f"{base}/reader", json={"permissions": ["doc.list"]}, headers=h)
    answer = await world.verify(key["key"], permissions="doc.read")
    assert answer["code"] == "INSUFFICIENT_PERMISSIONS"
    assert answer["permissions"] == ["doc.list"]


async def test_invalid_roles(world: World) -> None:
    c, h = world.client, world.auth()
    api = await world.api()
    base = f"/v1/apis/{api['id']}/roles"
    problem = assert_problem(
        await c.put(f"{base}/bad name", json={"permissions": []}, headers=h), 422
    )
    assert "role" in problem["detail"]
    problem = assert_problem(
        await c.put(f"{base}/ok", json={"permissions": ["no spaces"]}, headers=h), 422
    )
    assert problem["field"] == "permissions[0]"
    assert_problem(await c.put(f"{base}/ok", json={"permissions": "a.b"}, headers=h), 422)
    assert_problem(await c.put(f"{base}/ok", json={}, headers=h), 422)
    problem = assert_problem(
        await c.put(f"{base}/ok", json={"permissions": ["a"] * 1001}, headers=h), 422
    )
    assert problem["errors"][0]["loc"] == ["body", "permissions"]
    problem = assert_problem(
        await world.client.post(
            "/v1/keys", json={"api_id": api["id"], "roles": ["ghost"]}, headers=h
        ),
        422,
    )
    assert "ghost" in problem["detail"]
