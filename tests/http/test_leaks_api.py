"""``/v1/leaks`` over HTTP: reports answered per token, problem+json for bad input,
idempotent, never across workspaces; the leak list and the policy routes."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest
from httpkit import World, assert_problem, open_world

from keystead.core import keyformat
from keystead.service import Keystead

URL = "https://gist.github.com/someone/abc"


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as opened:
        yield opened


async def _reporter(world: World) -> dict[str, str]:
    return world.auth(await world.root_key_with(["leaks.report"]))


async def test_reports_are_answered_in_order(world: World) -> None:
    api = await world.api("leaky", prefix="lk")
    live, revoked = await world.key(api["id"]), await world.key(api["id"])
    await world.ks.keys.revoke(world.operator, revoked["id"])
    reports = [
        {"token": live["key"], "url": URL, "exposed_at": "2025-01-02T03:04:05Z", "type": "ks"},
        {"token": revoked["key"], "source": "scanner"},
        {"token": keyformat.generate("lk")},
        {"token": "password123"},
    ]

    response = await world.client.post(
        "/v1/leaks", json={"reports": reports}, headers=await _reporter(world)
    )

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(i["status"], i["outcome"]) for i in items] == [
        ("live", "revoked"),
        ("already_revoked", "already_revoked"),
        ("unknown", "unknown"),
        ("unknown", "unknown"),
    ]
    assert items[0]["token_hash"] == hashlib.sha256(live["key"].encode()).hexdigest()
    assert (items[0]["key_id"], items[0]["token_type"]) == (live["id"], "ks")
    assert items[0]["incident_id"].startswith("inc_") and not items[0]["repeated"]
    assert live["key"] not in response.text and revoked["key"] not in response.text
    leak = await world.client.get(f"/v1/leaks/{items[0]['leak_id']}", headers=world.auth())
    assert leak.json()["exposed_at"] == "2025-01-02T03:04:05Z"
    assert (leak.json()["url"], leak.json()["outcome"]) == (URL, "revoked")
    listed = await world.client.get("/v1/leaks", headers=world.auth())
    assert {i["key_id"] for i in listed.json()["items"]} == {live["id"], revoked["id"]}
    again = await world.client.post(
        "/v1/leaks", json={"reports": reports[:1]}, headers=await _reporter(world)
    )
    assert again.json()["items"][0] == {**items[0], "repeated": True}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reports": []},
        {"reports": [{"token": "x"}] * 1001},
        {"reports": [{}]},
        {"reports": [{"token": ""}]},
        {"reports": [{"token": "x", "exposed_at": "yesterday"}]},
        {"reports": [{"token": "x", "source": "bad source!"}]},
        {"reports": [{"token": "x", "url": "u" * 2001}]},
        {"reports": [{"token": "x", "surprise": 1}]},
        {"reports": [{"token": 5}]},
    ],
)
async def test_bad_reports_are_problems(world: World, body: object) -> None:
    api = await world.api("leaky", prefix="lk")
    live = await world.key(api["id"])
    response = await world.client.post("/v1/leaks", json=body, headers=await _reporter(world))
    assert_problem(response, 422)
    assert (await world.verify(live["key"]))["valid"] is True


async def test_another_workspace_key_is_unknown_and_untouched(world: World) -> None:
    other = await world.ks.workspaces.create("other")
    theirs = await world.ks.root_keys.authenticate(other.root_key.plaintext)
    api = await world.ks.apis.create(theirs, name="theirs")
    key = await world.ks.keys.create(theirs, api_id=api.id)

    response = await world.client.post(
        "/v1/leaks", json={"reports": [{"token": key.plaintext}]}, headers=world.auth()
    )

    assert response.json()["items"][0]["status"] == "unknown"
    assert key.key.id not in response.text
    assert (await world.ks.verify(key.plaintext)).valid
    assert await world.ks.leaks.leak_of(other.workspace.id, key.key.id) is None


async def test_the_policy_routes(world: World) -> None:
    api = await world.api("leaky", prefix="lk")
    h = world.auth()
    first = await world.client.get("/v1/leaks/policy", headers=h)
    assert first.json()["effective"] == {
        "api_id": None,
        "action": "revoke",
        "grace_period_s": None,
        "replace": False,
        "notify": True,
    }
    put = await world.client.put(
        "/v1/leaks/policy",
        json={"action": "rotate", "grace_period_s": 600, "api_id": api["id"]},
        headers=h,
    )
    assert put.status_code == 200, put.text
    assert put.json()["effective"]["action"] == "rotate" and put.json()["workspace"] is None
    bad = await world.client.put(
        "/v1/leaks/policy", json={"action": "notify", "replace": True}, headers=h
    )
    assert "replace" in assert_problem(bad, 422)["detail"]
    missing = await world.client.put(
        "/v1/leaks/policy",
        json={"action": "notify", "api_id": "api_0000000000AAAAAAAAAAAAAAAA"},
        headers=h,
    )
    assert_problem(missing, 404)
    cleared = await world.client.delete("/v1/leaks/policy", params={"api_id": api["id"]}, headers=h)
    assert cleared.json()["effective"]["action"] == "revoke"
    assert cleared.json()["api"] is None
