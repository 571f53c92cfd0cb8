"""``/v1/alerts``: rules over HTTP (422 naming the field for bad ones), alerts
opened by verifications, their states, and narrowed root keys refused."""

from __future__ import annotations

from typing import Any

import pytest
from httpkit import assert_problem, open_world

from keystead.service import Keystead


async def test_rules_alerts_and_states(keystead: Keystead) -> None:
    async with open_world(keystead) as w:
        c, h = w.client, w.auth()
        rule = {"name": "bf", "kind": "brute_force", "value": 2, "severity": "critical"}
        created = await c.post("/v1/alerts/rules", json=rule, headers=h)
        assert created.status_code == 201, created.text
        rule_id = created.json()["id"]
        assert created.json()["scope"] == "key" and created.json()["window_minutes"] == 5
        for _ in range(3):
            await w.verify("ks_garbage", ip="192.0.2.44")
        await w.ks.flush()
        await w.ks.alerts.evaluate(w.ks.clock.now() + 1)

        listed = (await c.get("/v1/alerts", params={"status": "open"}, headers=h)).json()
        (alert,) = listed["items"]
        assert (alert["scope"], alert["scope_id"], alert["severity"]) == (
            "ip",
            "192.0.2.44",
            "critical",
        )
        assert alert["evidence"]["record_count"] == 3
        url = f"/v1/alerts/{alert['id']}"
        acked = (await c.post(f"{url}/acknowledge", headers=h)).json()
        assert acked["status"] == "acknowledged"
        resolved = (await c.post(f"{url}/resolve", headers=h)).json()
        assert resolved["status"] == "resolved"
        assert (await c.get(url, headers=h)).json()["resolved_at"] is not None
        none = await c.get("/v1/alerts", params={"status": "open"}, headers=h)
        assert none.json()["items"] == []

        patched = await c.patch(f"/v1/alerts/rules/{rule_id}", json={"enabled": False}, headers=h)
        assert patched.json()["enabled"] is False
        assert (await c.delete(f"/v1/alerts/rules/{rule_id}", headers=h)).status_code == 204
        assert_problem(await c.get(f"/v1/alerts/rules/{rule_id}", headers=h), 404)
        assert_problem(await c.get("/v1/alerts/alr_0000000000AAAAAAAAAAAAAAAA", headers=h), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "t", "kind": "threshold", "metric": "requests", "comparator": ">"}, "value"),
        ({"name": "t", "kind": "threshold", "metric": "cpu", "comparator": ">", "value": 1},
         "metric"),
        ({"name": "t", "kind": "volume_spike", "value": -1}, "value"),
        ({"name": "t", "kind": "revoked_use", "window_minutes": 100_000}, "window_minutes"),
        ({"name": "t", "kind": "revoked_use", "value": "1"}, "value"),
        ({"name": "t", "kind": "revoked_use", "action": "delete"}, "action"),
        ({"name": "t", "kind": "revoked_use", "scope": "owner"}, "scope"),
        ({"name": "", "kind": "revoked_use"}, "name"),
        ({"name": "t", "kind": "revoked_use", "x": 1}, "x"),
        ({"kind": "revoked_use"}, "name"),
    ],
)  # fmt: skip
async def test_bad_rules_are_a_422(keystead: Keystead, body: dict[str, Any], field: str) -> None:
    async with open_world(keystead) as w:
        response = await w.client.post("/v1/alerts/rules", json=body, headers=w.auth())
        problem = assert_problem(response, 422)
        assert field in str(problem), problem


async def test_bad_filters_and_narrowed_root_keys(keystead: Keystead) -> None:
    async with open_world(keystead) as w:
        c, h = w.client, w.auth()
        assert_problem(await c.get("/v1/alerts", params={"severity": "huge"}, headers=h), 422)
        assert_problem(await c.get("/v1/alerts", params={"cursor": "nope"}, headers=h), 422)
        assert_problem(await c.get("/v1/alerts/rules/rules", headers=h), 422)
        api = await w.api("narrow")
        narrow = w.auth(await w.root_key_with(["*"], api_ids=[api["id"]]))
        assert_problem(await c.get("/v1/alerts", headers=narrow), 403)
