"""``/v1/audit``: entries of HTTP management calls carry the root key, client IP,
user agent and request id; filters, pages, verification and bad input."""

from __future__ import annotations

import httpx
from httpkit import BASE_URL, assert_problem, open_world

from keystead.http import create_app
from keystead.service import Keystead


async def test_http_actions_are_recorded_with_their_origin(keystead: Keystead) -> None:
    async with open_world(keystead) as w:
        headers = {**w.auth(), "User-Agent": "audit-test/1.0", "X-Request-Id": "req-42"}
        api = (await w.client.post("/v1/apis", json={"name": "a"}, headers=headers)).json()
        dup = await w.client.post("/v1/apis", json={"name": "a"}, headers=headers)
        assert_problem(dup, 409)
        key = await w.key(api["id"])
        patched = await w.client.patch(
            f"/v1/keys/{key['id']}", json={"enabled": False}, headers=w.auth()
        )
        assert patched.status_code == 200
        page = (await w.client.get("/v1/audit", headers=w.auth())).json()
        items = page["items"]
        # newest first; the fixture's workspace and root key came from the service (cli)
        assert [e["action"] for e in items] == [
            "key.disable",
            "key.create",
            "api.create",
            "root_key.create",
            "workspace.create",
        ]
        made = items[4]
        assert (made["actor"], made["target_type"], made["target_id"]) == (
            "cli",
            "workspace",
            w.workspace_id,
        )
        first = items[2]
        root_key_id = first["actor"].removeprefix("root_key:")
        assert root_key_id.startswith("rk_")
        assert (first["ip"], first["user_agent"], first["request_id"]) == (
            "127.0.0.1",
            "audit-test/1.0",
            "req-42",
        )
        assert items[1]["request_id"].startswith("req_")  # generated when none is sent
        assert items[0]["changes"] == {"before": {"enabled": True}, "after": {"enabled": False}}
        assert key["key"] not in str(page)
        report = (await w.client.get("/v1/audit/verify", headers=w.auth())).json()
        assert report["ok"] is True and report["entries"] == 5
        public = (await w.client.get("/v1/audit/public_key", headers=w.auth())).json()
        assert (
            public["algorithm"] == "Ed25519" and public["public_key"] == keystead.audit.public_key
        )


async def test_filters_and_pages(keystead: Keystead) -> None:
    async with open_world(keystead) as w:
        api = await w.api("a")
        for _ in range(3):
            await w.key(api["id"])
        c, h = w.client, w.auth()
        seen: list[int] = []
        cursor = None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await c.get("/v1/audit", params=params, headers=h)).json()
            seen.extend(e["seq"] for e in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [6, 5, 4, 3, 2, 1]
        keys = (await c.get("/v1/audit", params={"action": "key.*"}, headers=h)).json()
        assert len(keys["items"]) == 3
        mine = (await c.get("/v1/audit", params={"target": api["id"]}, headers=h)).json()
        assert [e["action"] for e in mine["items"]] == ["api.create"]
        actor = keys["items"][0]["actor"]
        by_actor = (await c.get("/v1/audit", params={"actor": actor}, headers=h)).json()
        assert len(by_actor["items"]) == 4
        at = keys["items"][-1]["at"]
        recent = (await c.get("/v1/audit", params={"from": at}, headers=h)).json()
        assert {e["seq"] for e in recent["items"]} >= {3, 4, 5}
        early = await c.get("/v1/audit", params={"to": "2000-01-01T00:00:00Z"}, headers=h)
        assert early.json()["items"] == []


async def test_bad_input_is_a_problem(keystead: Keystead) -> None:
    async with open_world(keystead) as w:
        c, h = w.client, w.auth()
        for params in (
            {"from": "yesterday"},
            {"to": "2020-13-01"},
            {"cursor": "abc"},
            {"cursor": "9" * 30},
            {"limit": 0},
            {"limit": "many"},
            {"actor": "x" * 500},
        ):
            response = await c.get("/v1/audit", params=params, headers=h)
            assert response.status_code in (400, 422), (params, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
        narrow = await w.root_key_with(["audit.read"], api_ids=[(await w.api("x"))["id"]])
        assert_problem(await c.get("/v1/audit", headers=w.auth(narrow)), 403)
        assert_problem(await c.get("/v1/audit/verify", headers=w.auth(narrow)), 403)


async def test_long_targets_are_recorded_whole(keystead: Keystead) -> None:
    async with open_world(keystead) as w:
        owner = "ö" * 200
        response = await w.client.put(f"/v1/owners/{owner}", json={}, headers=w.auth())
        assert response.status_code == 200
        params = {"target": owner}
        (entry,) = (await w.client.get("/v1/audit", params=params, headers=w.auth())).json()[
            "items"
        ]
        assert (entry["action"], entry["target_id"]) == ("owner.put", owner)


async def test_the_bootstrap_is_served_to_its_root_key(keystead: Keystead) -> None:
    """``init`` made the workspace and its root key as the local operator."""
    boot = await keystead.workspaces.init("acme")
    transport = httpx.ASGITransport(app=create_app(keystead))
    headers = {"Authorization": f"Bearer {boot.root_key.plaintext}"}
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        page = (await client.get("/v1/audit", headers=headers)).json()
        assert [
            (e["seq"], e["actor"], e["action"], e["target_type"], e["target_id"])
            for e in page["items"]
        ] == [
            (2, "cli", "root_key.create", "root_key", boot.root_key.root_key.id),
            (1, "cli", "workspace.create", "workspace", boot.workspace.id),
        ]
        assert boot.root_key.plaintext not in str(page)
        report = (await client.get("/v1/audit/verify", headers=headers)).json()
        assert report["ok"] is True and report["entries"] == 2
