"""``/v1/analytics``: series and top values over HTTP, and problem+json 422s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpkit import World, assert_problem, iso, open_world

from keystead.core.clock import ManualClock
from keystead.core.usage import UsageRecord
from keystead.service import Keystead

H0 = 1_749_999_600


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


async def _used_key(w: World, clock: ManualClock) -> dict[str, Any]:
    api = await w.api("charted")
    key = await w.key(api["id"], owner_id="carol")
    clock.set(H0 + 60)
    for ip in ("192.0.2.1", "192.0.2.1", "192.0.2.2"):
        await w.verify(key["key"], ip=ip, user_agent="curl/8", path="/x")
    await w.ks.usage.recorder.add(
        UsageRecord(at=H0 + 120, workspace_id=w.workspace_id, api_id=api["id"],
                    key_id=key["id"], owner_id="carol", code="VALID", status=502,
                    response_ms=40.0, bytes_in=5, bytes_out=7)
    )  # fmt: skip
    await w.ks.flush()
    clock.set(H0 + 3600)  # the default 'to' (now) lies after the usage
    return key


async def test_usage_series_and_top(world: World, clock: ManualClock) -> None:
    key = await _used_key(world, clock)
    c, h = world.client, world.auth()
    params = {"key_id": key["id"], "from": iso(H0), "to": iso(H0 + 3 * 3600)}
    response = await c.get("/v1/analytics/usage", params=params, headers=h)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["scope"], body["scope_id"], body["granularity"]) == ("key", key["id"], "hour")
    assert (body["from"], body["to"]) == (iso(H0), iso(H0 + 3 * 3600))
    assert [b["start"] for b in body["buckets"]] == [iso(H0 + i * 3600) for i in range(3)]
    assert [b["total"] for b in body["buckets"]] == [4, 0, 0]
    first = body["buckets"][0]
    assert (first["codes"], first["success"], first["failure"]) == ({"VALID": 4}, 4, 0)
    assert (first["status_5xx"], first["with_status"], first["error_rate"]) == (1, 1, 1.0)
    assert 40 / 1.26 <= first["latency_ms"]["p99"] <= 40 * 1.26
    assert (first["bytes_in"], first["bytes_out"], first["distinct_ips"]) == (5, 7, 2)
    assert body["totals"]["total"] == 4 and "start" not in body["totals"]
    assert body["last_used_at"] is not None
    minutes = await c.get(
        "/v1/analytics/usage", params={**params, "granularity": "minute"}, headers=h
    )
    assert len(minutes.json()["buckets"]) == 180

    top = await c.get("/v1/analytics/top", params={**params, "limit": 1}, headers=h)
    assert top.status_code == 200, top.text
    assert top.json()["items"] == [{"value": "192.0.2.1", "count": 2}]
    assert top.json()["by"] == "ip"
    paths = await c.get(
        "/v1/analytics/top", params={"owner_id": "carol", "by": "path", "from": iso(H0)}, headers=h
    )
    assert paths.json()["items"] == [{"value": "/x", "count": 3}]


async def test_bad_input_is_a_problem(world: World, clock: ManualClock) -> None:
    c, h = world.client, world.auth()
    key = await _used_key(world, clock)
    bad: list[tuple[str, dict[str, Any]]] = [
        ("usage", {}),
        ("usage", {"key_id": key["id"], "api_id": "api_x"}),
        ("usage", {"key_id": key["id"], "from": iso(H0), "to": iso(H0)}),
        ("usage", {"key_id": key["id"], "from": "soon"}),
        ("usage", {"key_id": key["id"], "granularity": "fortnight"}),
        ("usage", {"key_id": key["id"], "from": iso(H0), "to": iso(H0 + 30 * 86_400),
                   "granularity": "minute"}),
        ("usage", {"owner_id": "x" * 201}),
        ("top", {"key_id": key["id"], "by": "referrer"}),
        ("top", {"key_id": key["id"], "limit": 0}),
        ("top", {"key_id": key["id"], "limit": "many"}),
        ("top", {"key_id": key["id"], "limit": 101}),
    ]  # fmt: skip
    for route, params in bad:
        response = await c.get(f"/v1/analytics/{route}", params=params, headers=h)
        assert_problem(response, 422)
    for route in ("usage", "top"):
        missing = await c.get(
            f"/v1/analytics/{route}", params={"key_id": "key_0000000000AAAAAAAAAAAAAAAA"}, headers=h
        )
        assert_problem(missing, 404)


async def test_narrowed_root_keys_see_only_their_scope(world: World, clock: ManualClock) -> None:
    key = await _used_key(world, clock)
    elsewhere = await world.api("elsewhere")
    narrow = world.auth(await world.root_key_with(["*"], api_ids=[elsewhere["id"]]))
    c = world.client
    for params in ({"key_id": key["id"]}, {"api_id": key["api_id"]}, {"owner_id": "carol"}):
        for route in ("usage", "top"):
            response = await c.get(f"/v1/analytics/{route}", params=params, headers=narrow)
            assert_problem(response, 404)
    own = await c.get("/v1/analytics/usage", params={"api_id": elsewhere["id"]}, headers=narrow)
    assert own.status_code == 200 and own.json()["totals"]["total"] == 0
    reader = world.auth(await world.root_key_without("usage.read"))
    refused = await c.get("/v1/analytics/usage", params={"key_id": key["id"]}, headers=reader)
    assert "usage.read" in assert_problem(refused, 403)["detail"]


async def test_a_pasted_key_is_never_echoed(world: World, clock: ManualClock) -> None:
    """A plaintext key given where an id belongs is refused without being written back:
    an id parameter is a 422 naming it; a key-shaped text in any other problem's
    detail (an owner id is free text) is redacted."""
    c, h = world.client, world.auth()
    pasted = (await _used_key(world, clock))["key"]
    for route in ("usage", "top"):
        for name in ("key_id", "api_id"):
            response = await c.get(f"/v1/analytics/{route}", params={name: pasted}, headers=h)
            problem = assert_problem(response, 422)
            assert problem["errors"][0]["loc"] == ["query", name]
            assert pasted not in response.text
    response = await c.get(f"/v1/owners/{pasted}", headers=h)
    assert "<redacted>" in assert_problem(response, 404)["detail"]
    assert pasted not in response.text


async def test_the_404_is_documented(world: World) -> None:
    doc = (await world.client.get("/openapi.json")).json()
    for route in ("usage", "top"):
        assert "404" in doc["paths"][f"/v1/analytics/{route}"]["get"]["responses"]


async def test_the_workspaces_busiest_keys_and_owners(world: World, clock: ManualClock) -> None:
    """No scope named, by key_id or owner_id: the workspace's for an unnarrowed root
    key, the visible keys' for a narrowed one."""
    key = await _used_key(world, clock)
    c, h = world.client, world.auth()
    for by, value in (("key_id", key["id"]), ("owner_id", "carol")):
        top = await c.get("/v1/analytics/top", params={"by": by, "from": iso(H0)}, headers=h)
        assert top.status_code == 200, top.text
        assert (top.json()["scope"], top.json()["scope_id"]) == ("workspace", world.workspace_id)
        assert top.json()["items"] == [{"value": value, "count": 4}]
    assert_problem(await c.get("/v1/analytics/top", headers=h), 422)  # by=ip needs a scope
    narrow = world.auth(await world.root_key_with(["*"], api_ids=[key["api_id"]]))
    seen = await c.get(
        "/v1/analytics/top", params={"by": "key_id", "from": iso(H0)}, headers=narrow
    )
    assert seen.json()["items"] == [{"value": key["id"], "count": 4}]
    other = await c.post("/v1/apis", json={"name": "elsewhere"}, headers=h)
    blind = world.auth(await world.root_key_with(["*"], api_ids=[other.json()["id"]]))
    unseen = await c.get(
        "/v1/analytics/top", params={"by": "owner_id", "from": iso(H0)}, headers=blind
    )
    assert unseen.status_code == 200 and unseen.json()["items"] == []
