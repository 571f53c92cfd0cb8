"""Root keys see and act only within their own scope: listing and revoking other root
keys, verifying keys of other owners, and the permission names they may hold."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from httpkit import World, assert_problem, open_world
from test_http_invalidations import changes, stream_during

from keystead.core.permissions import MAX_PERMISSION_LENGTH
from keystead.service import Keystead

LIMIT_ONE = {"ratelimits": [{"name": "rps", "limit": 1, "duration_s": 60}]}


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


async def _root_key(
    world: World,
    permissions: Sequence[str] | None = None,
    api_ids: Sequence[str] | None = None,
    owner_id: str | None = None,
) -> dict[str, Any]:
    """A root key made over HTTP by the workspace's initial ``*`` root key."""
    body: dict[str, object] = {"name": "made"}
    if permissions is not None:
        body["permissions"] = list(permissions)
    if api_ids is not None:
        body["api_ids"] = list(api_ids)
    if owner_id is not None:
        body["owner_id"] = owner_id
    response = await world.client.post("/v1/root_keys", json=body, headers=world.auth())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _initial_root_key_id(world: World) -> str:
    listed = await world.ks.root_keys.list(world.operator)
    return next(r.id for r in listed if r.name == "test root")


async def test_a_narrowed_root_key_can_neither_see_nor_revoke_a_wider_one(world: World) -> None:
    api = await world.api("one")
    elsewhere = await world.api("another")
    initial = await _initial_root_key_id(world)
    narrowed = [
        await _root_key(world, api_ids=[elsewhere["id"]]),
        await _root_key(world, owner_id="acme"),
        await _root_key(world, permissions=["root_keys.*", "keys.*"]),
    ]
    for caller in narrowed:
        h = world.auth(caller["key"])
        response = await world.client.post(f"/v1/root_keys/{initial}/revoke", headers=h)
        assert_problem(response, 404)
        listed = (await world.client.get("/v1/root_keys", headers=h)).json()["items"]
        assert initial not in {r["id"] for r in listed}
        assert caller["id"] in {r["id"] for r in listed}
    # the initial root key still works
    response = await world.client.get(f"/v1/apis/{api['id']}", headers=world.auth())
    assert response.status_code == 200


async def test_a_root_key_sees_and_revokes_the_narrower_ones_only(world: World) -> None:
    one, two = (await world.api("one"))["id"], (await world.api("two"))["id"]
    both = await _root_key(world, api_ids=[one, two])
    h = world.auth(both["key"])
    made = {}
    for name, body in {
        "narrower": {"api_ids": [one]},
        "fewer permissions": {"permissions": ["keys.read"]},
        "owner": {"owner_id": "acme"},
    }.items():
        response = await world.client.post("/v1/root_keys", json=body, headers=h)
        assert response.status_code == 201, response.text
        made[name] = response.json()["id"]
    only_one = await _root_key(world, api_ids=[one])
    wider = await _root_key(world, api_ids=[one, two, (await world.api("three"))["id"]])
    listed = {r["id"] for r in (await world.client.get("/v1/root_keys", headers=h)).json()["items"]}
    assert listed == {both["id"], only_one["id"], *made.values()}
    assert_problem(await world.client.post(f"/v1/root_keys/{wider['id']}/revoke", headers=h), 404)
    for root_key_id in (only_one["id"], *made.values()):
        response = await world.client.post(f"/v1/root_keys/{root_key_id}/revoke", headers=h)
        assert response.status_code == 200, response.text
        assert response.json()["revoked_at"] is not None


async def test_an_owner_narrowed_root_key_sees_only_its_owner_root_keys(world: World) -> None:
    acme = await _root_key(world, owner_id="acme")
    also_acme = await _root_key(world, permissions=["keys.read"], owner_id="acme")
    globex = await _root_key(world, owner_id="globex")
    h = world.auth(acme["key"])
    listed = {r["id"] for r in (await world.client.get("/v1/root_keys", headers=h)).json()["items"]}
    assert listed == {acme["id"], also_acme["id"]}
    assert_problem(await world.client.post(f"/v1/root_keys/{globex['id']}/revoke", headers=h), 404)
    response = await world.client.post(f"/v1/root_keys/{also_acme['id']}/revoke", headers=h)
    assert response.status_code == 200


async def test_a_root_key_may_revoke_itself(world: World) -> None:
    caller = await _root_key(world, permissions=["root_keys.revoke"], owner_id="acme")
    h = world.auth(caller["key"])
    response = await world.client.post(f"/v1/root_keys/{caller['id']}/revoke", headers=h)
    assert response.status_code == 200, response.text
    assert_problem(await world.client.get("/v1/root_keys", headers=h), 401)


async def test_an_owner_narrowed_root_key_verifies_only_its_owner_keys(world: World) -> None:
    api = await world.api("shared")
    globex = await world.key(api["id"], owner_id="globex", meta={"plan": "secret"}, **LIMIT_ONE)
    ours = await world.key(api["id"], owner_id="acme")
    acme = world.auth((await _root_key(world, owner_id="acme"))["key"])
    # the common call, and the one with its own cost, limits and recording
    for extra in ({}, {}, {"cost": 1, "record": False, "ratelimits": [LIMIT_ONE["ratelimits"][0]]}):
        response = await world.client.post(
            "/v1/keys/verify", json={"key": globex["key"], **extra}, headers=acme
        )
        assert response.json() == {"valid": False, "code": "NOT_FOUND"}
    response = await world.client.post("/v1/keys/verify", json={"key": ours["key"]}, headers=acme)
    assert response.json()["code"] == "VALID"
    # nothing of globex's limit was spent, nor recorded as its key's verification
    assert (await world.verify(globex["key"]))["code"] == "VALID"
    await world.ks.flush()
    records = await world.ks.store.list_usage(world.workspace_id, key_id=globex["id"])
    assert [r.code for r in records] == ["VALID"]
    key = await world.ks.keys.get(world.operator, globex["id"])
    assert key.last_used_at is not None  # from the one verification in scope


async def test_an_owner_narrowed_root_key_reports_usage_of_its_owner_keys_only(
    world: World,
) -> None:
    api = await world.api("shared")
    ours, theirs = await world.key(api["id"], owner_id="acme"), await world.key(api["id"])
    acme = world.auth((await _root_key(world, permissions=["keys.verify"], owner_id="acme"))["key"])
    at = world.ks.clock.now()
    records = [{"key_id": k["id"], "code": "VALID", "at": at} for k in (ours, theirs)]
    response = await world.client.post("/v1/usage/records", json={"records": records}, headers=acme)
    assert response.json() == {"recorded": 2, "unattributed": 1}
    await world.ks.flush()
    assert await world.ks.store.list_usage(world.workspace_id, key_id=theirs["id"]) == []
    assert len(await world.ks.store.list_usage(world.workspace_id, key_id=ours["id"])) == 1


async def test_an_owner_narrowed_root_key_keeps_its_keys_its_owner(world: World) -> None:
    api = await world.api("shared")
    acme = world.auth((await _root_key(world, owner_id="acme"))["key"])
    c = world.client
    for body in (
        {"api_id": api["id"], "owner_id": "globex"},
        {"keys": [{"api_id": api["id"]}, {"api_id": api["id"], "owner_id": "globex"}]},
    ):
        url = "/v1/keys/batch" if "keys" in body else "/v1/keys"
        assert (
            assert_problem(await c.post(url, json=body, headers=acme), 422)["field"] == "owner_id"
        )
    created = await c.post("/v1/keys", json={"api_id": api["id"]}, headers=acme)
    assert created.json()["owner_id"] == "acme"
    url = f"/v1/keys/{created.json()['id']}"
    refused = await c.patch(url, json={"owner_id": "globex"}, headers=acme)
    assert assert_problem(refused, 422)["field"] == "owner_id"
    kept = await c.patch(url, json={"owner_id": None, "name": "renamed"}, headers=acme)
    assert (kept.json()["owner_id"], kept.json()["name"]) == ("acme", "renamed")
    listed = await world.ks.keys.list(world.operator, owner_id="globex")
    assert listed.items == []


async def test_an_owner_narrowed_root_key_hears_of_its_owner_changes_only(world: World) -> None:
    ks, op = world.ks, world.operator
    api = await world.api("shared")
    ours, theirs = await world.key(api["id"], owner_id="acme"), await world.key(api["id"])
    gone = await world.key(api["id"], owner_id="globex")
    listener = await ks.root_keys.create(op, permissions=["keys.verify"], owner_id="acme")
    peer = await ks.root_keys.create(op, permissions=["keys.verify"], owner_id="acme")
    wider = await ks.root_keys.create(op, name="wider")

    async def act() -> None:
        await ks.keys.revoke(op, theirs["id"])
        await ks.keys.delete(op, gone["id"])
        await ks.owners.put(op, "globex")
        await ks.root_keys.revoke(op, wider.root_key.id)
        await ks.keys.revoke(op, ours["id"])
        await ks.owners.put(op, "acme")
        await ks.root_keys.revoke(op, peer.root_key.id)

    seen = await stream_during(world, act, root_key=listener.plaintext)

    assert changes(seen) == [
        ("all", None),
        ("key", ours["id"]),
        ("owner", "acme"),
        ("root_key", peer.root_key.id),
    ]


@pytest.mark.parametrize("permission", ["god.mode", "keys.fly", "nothing.*", "*.fly", "keys.*.x"])
async def test_an_unknown_root_key_permission_is_refused(world: World, permission: str) -> None:
    body = {"permissions": ["keys.read", permission]}
    response = await world.client.post("/v1/root_keys", json=body, headers=world.auth())
    problem = assert_problem(response, 422)
    assert problem["field"] == "permissions[1]"
    assert permission in problem["detail"]


@pytest.mark.parametrize(
    "permissions", [["*"], ["keys.*"], ["*.read"], ["root_keys.revoke", "apis.read"]]
)
async def test_known_permissions_and_wildcards_are_accepted(
    world: World, permissions: list[str]
) -> None:
    created = await _root_key(world, permissions=permissions)
    assert created["permissions"] == permissions


async def test_a_secret_scope_longer_than_a_plain_permission_is_accepted(world: World) -> None:
    """A machine token for one deep secret: its permission is longer than a plain one may be."""
    deep = "secrets.read:secret/" + "/".join(["segment"] * 30)
    assert len(deep) > MAX_PERMISSION_LENGTH
    created = await _root_key(world, permissions=[deep])
    assert created["permissions"] == [deep]
    plain = "a" * (MAX_PERMISSION_LENGTH + 1)
    response = await world.client.post(
        "/v1/root_keys", json={"permissions": [plain]}, headers=world.auth()
    )
    problem = assert_problem(response, 422)
    assert f"longer than {MAX_PERMISSION_LENGTH}" in problem["detail"]
