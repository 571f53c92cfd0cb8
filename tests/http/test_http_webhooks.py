"""``/v1/webhooks`` over HTTP: the secret shown once, validation (422), ids that are
unknown or another workspace's (404), deliveries, the dead letter and replay, and
the secret never at rest in plaintext nor in a log."""

from __future__ import annotations

import base64
import logging
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpkit import World, assert_problem, open_world

from keystead.config import Settings
from keystead.events.webhooks import DeliveryPolicy
from keystead.service import Keystead
from storedkit import mariadb_rows

REFUSED = "http://127.0.0.1:1/hook"  # nothing listens on port 1: every attempt fails
ONE_SHOT = DeliveryPolicy(max_attempts=1, timeout_s=5.0)


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


async def create(world: World, **fields: Any) -> dict[str, Any]:
    body = {"url": "https://hooks.example.test/in", "events": ["key.revoked"], **fields}
    response = await world.client.post("/v1/webhooks", json=body, headers=world.auth())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def dead_deliveries(world: World, count: int) -> dict[str, Any]:
    """A webhook to a closed port, ``count`` key events, one failed attempt each."""
    hook = await create(world, url=REFUSED, events=["*"])
    api = await world.api("hooked")
    for _ in range(count):
        await world.key(api["id"])
    await world.ks.webhooks.make_dispatcher(ONE_SHOT).run_once()
    return hook


async def test_the_secret_is_shown_once(world: World) -> None:
    created = await create(world, description="billing", enabled=False)
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert created["id"].startswith("wh_")
    assert {k: created[k] for k in ("url", "events", "description", "enabled")} == {
        "url": "https://hooks.example.test/in",
        "events": ["key.revoked"],
        "description": "billing",
        "enabled": False,
    }
    assert created["old_secret_expires_at"] is None
    h, c = world.auth(), world.client
    for response in (
        await c.get("/v1/webhooks", headers=h),
        await c.get(f"/v1/webhooks/{created['id']}", headers=h),
        await c.patch(f"/v1/webhooks/{created['id']}", json={"enabled": True}, headers=h),
    ):
        assert response.status_code == 200, response.text
        assert "secret" not in response.json() and secret not in response.text
        assert '"secret"' not in response.text
    listed = (await c.get("/v1/webhooks", headers=h)).json()["items"]
    assert [w["id"] for w in listed] == [created["id"]]


async def test_update_rotate_and_delete(world: World) -> None:
    created = await create(world, description="x")
    url, h, c = f"/v1/webhooks/{created['id']}", world.auth(), world.client
    changes = {"url": "http://10.0.0.1:8080/k", "events": ["*"], "description": None}
    updated = (await c.patch(url, json=changes, headers=h)).json()
    assert (updated["url"], updated["events"], updated["description"]) == (
        "http://10.0.0.1:8080/k",
        ["*"],
        None,
    )
    picked = (await c.patch(url, json={"events": ["key.revoked", "key.revoked"]}, headers=h)).json()
    assert picked["events"] == ["key.revoked"]

    rotated = await c.post(f"{url}/rotate-secret", json={"expire_old_after_s": 60}, headers=h)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != created["secret"]
    assert body["old_secret_expires_at"] is not None
    fresh = await c.post(f"{url}/rotate-secret", headers=h)  # no body: the default overlap
    assert fresh.status_code == 200 and fresh.json()["secret"] != body["secret"]
    dropped = await c.post(f"{url}/rotate-secret", json={"expire_old_after_s": 0}, headers=h)
    assert dropped.json()["old_secret_expires_at"] is None

    assert (await c.delete(url, headers=h)).status_code == 204
    assert_problem(await c.get(url, headers=h), 404)
    assert_problem(await c.delete(url, headers=h), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://x.test/in", "events": ["*"]}, "url"),
        ({"url": "http://", "events": ["*"]}, "url"),
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"url": "https://x.test:99999/", "events": ["*"]}, "url"),
        ({"url": "https://x.test/\x00", "events": ["*"]}, "url"),
        ({"url": "https://x.test/in", "events": ["key.nope"]}, "events[0]"),
        ({"url": "https://x.test/in", "events": ["*", "nope"]}, "events[1]"),
        ({"url": "https://x.test/in", "events": []}, None),
        ({"url": "https://x.test/in", "events": "key.revoked"}, None),
        ({"url": "https://x.test/in", "events": ["*"], "enabled": "yes"}, None),
        ({"url": "https://x.test/in", "events": ["*"], "secret": "whsec_x"}, None),
        ({"url": "https://x.test/in", "events": ["*"], "description": "d" * 501}, None),
        ({"events": ["*"]}, None),
        ({"url": "x" * 3000, "events": ["*"]}, None),
    ],
)
async def test_bad_webhooks_are_422(world: World, body: dict[str, Any], field: str | None) -> None:
    response = await world.client.post("/v1/webhooks", json=body, headers=world.auth())
    problem = assert_problem(response, 422)
    if field is not None:
        assert problem["field"] == field, problem
    assert (await world.client.get("/v1/webhooks", headers=world.auth())).json()["items"] == []


async def test_bad_changes_and_queries_are_4xx(world: World) -> None:
    created = await create(world)
    url, h, c = f"/v1/webhooks/{created['id']}", world.auth(), world.client
    for changes in ({"events": ["bogus"]}, {"url": 5}, {"enabled": None}, {"name": "x"}):
        assert_problem(await c.patch(url, json=changes, headers=h), 422)
    for overlap in (-1, 10**9, "1", 1.5, True):
        response = await c.post(
            f"{url}/rotate-secret", json={"expire_old_after_s": overlap}, headers=h
        )
        assert_problem(response, 422)
    for params in ({"status": "bogus"}, {"cursor": "dlv_x"}, {"limit": 0}, {"limit": 1001}):
        assert_problem(await c.get("/v1/webhooks/deliveries", params=params, headers=h), 422)
        assert_problem(await c.get(f"{url}/deliveries", params=params, headers=h), 422)
    assert_problem(await c.get("/v1/webhooks/deliveries/nope", headers=h), 422)
    assert_problem(await c.post("/v1/webhooks", content=b"{", headers=h), 400)
    assert (await c.get(url, headers=h)).json()["events"] == ["key.revoked"]  # unchanged


async def test_unknown_and_foreign_ids_are_404(world: World, keystead: Keystead) -> None:
    other = await keystead.workspaces.create("other")
    theirs_h = world.auth(other.root_key.plaintext)
    theirs = (
        await world.client.post(
            "/v1/webhooks", json={"url": REFUSED, "events": ["*"]}, headers=theirs_h
        )
    ).json()
    api = (await world.client.post("/v1/apis", json={"name": "a"}, headers=theirs_h)).json()
    await world.client.post("/v1/keys", json={"api_id": api["id"]}, headers=theirs_h)
    await keystead.webhooks.make_dispatcher(ONE_SHOT).run_once()
    owner = await keystead.workspaces.local_operator(other.workspace.id)
    (their_delivery,) = (await keystead.webhooks.deliveries(owner)).items

    h, c = world.auth(), world.client
    for webhook_id in (theirs["id"], "wh_0000000000AAAAAAAAAAAAAAAA"):
        url = f"/v1/webhooks/{webhook_id}"
        assert_problem(await c.get(url, headers=h), 404)
        assert_problem(await c.patch(url, json={"enabled": False}, headers=h), 404)
        assert_problem(await c.post(f"{url}/rotate-secret", headers=h), 404)
        assert_problem(await c.get(f"{url}/deliveries", headers=h), 404)
        assert_problem(await c.delete(url, headers=h), 404)
    for delivery_id in (their_delivery.id, "dlv_0000000000AAAAAAAAAAAAAAAA"):
        assert_problem(await c.get(f"/v1/webhooks/deliveries/{delivery_id}", headers=h), 404)
        replay = await c.post(f"/v1/webhooks/deliveries/{delivery_id}/replay", headers=h)
        assert_problem(replay, 404)
    listed = await c.get("/v1/webhooks/deliveries", headers=h)
    assert listed.json() == {"items": [], "next_cursor": None}
    assert (await c.get(f"/v1/webhooks/{theirs['id']}", headers=theirs_h)).status_code == 200


async def test_dead_letter_and_replay(world: World) -> None:
    hook = await dead_deliveries(world, 2)
    h, c = world.auth(), world.client
    mine = (await c.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=h)).json()
    letter = (await c.get("/v1/webhooks/deliveries", params={"status": "dead"}, headers=h)).json()
    assert [d["id"] for d in mine["items"]] == [d["id"] for d in letter["items"]]
    assert len(letter["items"]) == 2 and letter["next_cursor"] is None
    first = letter["items"][0]
    assert (first["status"], first["attempt_count"], first["last_error"]) == (
        "dead",
        1,
        "ConnectError",
    )
    assert first["payload"]["type"] == "key.created"
    assert first["payload"]["data"]["event_id"] == first["event_id"]

    page = (await c.get("/v1/webhooks/deliveries", params={"limit": 1}, headers=h)).json()
    assert page["next_cursor"] == first["id"]
    rest = await c.get("/v1/webhooks/deliveries", params={"cursor": page["next_cursor"]}, headers=h)
    assert [d["id"] for d in rest.json()["items"]] == [letter["items"][1]["id"]]

    detail = (await c.get(f"/v1/webhooks/deliveries/{first['id']}", headers=h)).json()
    (attempt,) = detail["attempts"]
    assert (attempt["status_code"], attempt["error"], attempt["succeeded"]) == (
        None,
        "ConnectError",
        False,
    )
    replayed = await c.post(f"/v1/webhooks/deliveries/{first['id']}/replay", headers=h)
    assert replayed.status_code == 200, replayed.text
    assert (replayed.json()["status"], replayed.json()["attempt_count"]) == ("pending", 0)
    assert replayed.json()["payload"] == first["payload"]
    again = await c.post(f"/v1/webhooks/deliveries/{first['id']}/replay", headers=h)
    assert "pending" in assert_problem(again, 409)["detail"]
    left = (await c.get("/v1/webhooks/deliveries", params={"status": "dead"}, headers=h)).json()
    assert [d["id"] for d in left["items"]] == [letter["items"][1]["id"]]


async def test_a_narrowed_root_key_cannot_use_webhooks(world: World) -> None:
    api = await world.api("only")
    narrow = world.auth(await world.root_key_with(["*"], api_ids=[api["id"]]))
    assert_problem(await world.client.get("/v1/webhooks", headers=narrow), 403)
    body = {"url": "https://x.test/in", "events": ["*"]}
    assert_problem(await world.client.post("/v1/webhooks", json=body, headers=narrow), 403)


async def test_the_secret_is_never_at_rest_nor_logged(
    world: World, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    created = await create(world, url=REFUSED, events=["*"])
    rotated = (
        await world.client.post(f"/v1/webhooks/{created['id']}/rotate-secret", headers=world.auth())
    ).json()
    api = await world.api("logged")
    await world.key(api["id"])
    await world.ks.webhooks.make_dispatcher(ONE_SHOT).run_once()
    secrets = [created["secret"], rotated["secret"]]
    needles = [s.removeprefix("whsec_") for s in secrets]
    needles += [base64.b64decode(n).hex() for n in needles]
    logs = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    assert any("webhook delivery" in line for line in logs)  # the failure was logged
    for needle in needles:
        assert not [line for line in logs if needle in line]
        assert not [value for value in await stored_values(settings) if needle in value]


async def stored_values(settings: Settings) -> list[str]:
    """Every value of the webhook tables, as text (bytes as hex and latin-1)."""
    tables = ("ks_webhooks", "ks_deliveries", "ks_delivery_attempts")
    url = settings.database_url
    raw: list[object] = []
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            for table in tables:
                raw += [v for row in db.execute(f'SELECT * FROM "{table}"') for v in row]  # noqa: S608
    elif url.startswith("mysql"):
        stored = mariadb_rows(url)
        raw += [v for table in tables for row in stored[table] for v in row]
    else:
        import psycopg

        with psycopg.connect(url) as db:
            for table in tables:
                raw += [v for row in db.execute(f'SELECT * FROM "{table}"') for v in row]  # noqa: S608
    out: list[str] = []
    for value in raw:
        if isinstance(value, bytes | bytearray | memoryview):
            data = bytes(value)
            out += [data.hex(), data.decode("latin-1")]
        else:
            out.append(str(value))
    return out
