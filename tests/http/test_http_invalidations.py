"""``GET /v1/events/invalidations``: the change stream of a workspace, in-process
(a stream with ``max_s`` ends, so the whole answer can be read), and the change
feed under it. The client tests follow it over a real server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from httpkit import World, assert_problem, open_world

from keystead.config import Settings
from keystead.core.authz import ROOT_PERMISSIONS, Principal
from keystead.core.clock import ManualClock
from keystead.http import events
from keystead.service import Keystead
from keystead.service.changes import ChangeFeed
from keystead.store.sql.engine import create_engine

PATH = "/v1/events/invalidations"

Event = dict[str, Any]


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


def parse(body: str) -> list[Event]:
    """The stream's events: ``{"id", "event", "data"}`` (comments as ``{"comment"}``)."""
    out: list[Event] = []
    for block in body.split("\n\n"):
        if not block:
            continue
        event: Event = {"event": "message"}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if name == "":
                event = {"comment": value}
            elif name == "data":
                event["data"] = json.loads(value)
            else:
                event[name] = value
        out.append(event)
    return out


def changes(events_seen: list[Event]) -> list[tuple[str, str | None]]:
    return [
        (e["data"]["kind"], e["data"].get("id"))
        for e in events_seen
        if e.get("event") == "message" and "data" in e
    ]


async def stream_during(
    world: World,
    act: Callable[[], Awaitable[object]],
    *,
    root_key: str | None = None,
    max_s: float = 3,
    headers: dict[str, str] | None = None,
) -> list[Event]:
    """Open a stream, do ``act`` while it is open, and read it to its end
    (``max_s`` outlasts ``act`` on a busy machine: the stream closes then)."""
    subscribed = world.ks.changes.subscribers
    request = world.client.get(
        PATH, params={"max_s": max_s}, headers={**world.auth(root_key), **(headers or {})}
    )
    task = asyncio.create_task(request)
    while world.ks.changes.subscribers == subscribed and not task.done():
        await asyncio.sleep(0.005)
    await act()
    response = await task
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    return parse(response.text)


async def nothing() -> None:
    return None


async def test_a_new_stream_says_flush_then_ready(world: World) -> None:
    response = await world.client.get(PATH, params={"max_s": 0}, headers=world.auth())

    first, ready = parse(response.text)
    epoch = world.ks.changes.epoch
    assert first == {"event": "message", "id": f"{epoch}.0", "data": {"kind": "all"}}
    assert ready == {"event": "ready", "id": f"{epoch}.0", "data": {}}


async def test_changes_stream_as_they_happen(world: World) -> None:
    api = await world.api()
    key, doomed = await world.key(api["id"]), await world.key(api["id"])
    plan = await world.ks.plans.create(world.operator, name="gold")
    spare = await world.ks.root_keys.create(world.operator, name="spare")
    ks, op = world.ks, world.operator

    async def act() -> None:
        await ks.keys.revoke(op, key["id"])
        await ks.apis.put_role(op, api["id"], "reader", ["docs.read"])
        await ks.plans.update(op, plan.id, {"priority": 5})
        await ks.owners.put(op, "org_1")
        await ks.root_keys.revoke(op, spare.root_key.id)
        await ks.keys.delete(op, doomed["id"])

    seen = await stream_during(world, act)

    assert changes(seen) == [
        ("all", None),
        ("key", key["id"]),
        ("api", api["id"]),
        ("plan", plan.id),
        ("owner", "org_1"),
        ("root_key", spare.root_key.id),
        ("key", doomed["id"]),
    ]
    ids = [int(e["id"].rpartition(".")[2]) for e in seen if e.get("event") == "message"]
    assert ids == sorted(ids) and len(set(ids[1:])) == 6


async def test_nothing_of_another_workspace_is_shown(world: World) -> None:
    ks = world.ks
    other = await ks.workspaces.create("other")
    theirs = await ks.root_keys.authenticate(other.root_key.plaintext)
    their_api = await ks.apis.create(theirs, name="theirs")
    their_key = await ks.keys.create(theirs, api_id=their_api.id)
    their_doomed = await ks.keys.create(theirs, api_id=their_api.id)

    async def act() -> None:
        await ks.keys.revoke(theirs, their_key.key.id)
        await ks.keys.delete(theirs, their_doomed.key.id)
        await ks.apis.update(theirs, their_api.id, {"name": "renamed"})
        await ks.owners.put(theirs, "org_theirs")

    mine = await stream_during(world, act)
    seen_by_them = await stream_during(
        world, lambda: ks.keys.disable(theirs, their_key.key.id), root_key=other.root_key.plaintext
    )

    assert changes(mine) == [("all", None)]
    for foreign in (their_key.key.id, their_doomed.key.id, their_api.id, "org_theirs"):
        assert foreign not in json.dumps(mine)
    assert changes(seen_by_them) == [("all", None), ("key", their_key.key.id)]


async def test_a_root_key_narrowed_to_an_api_hears_of_that_api_only(world: World) -> None:
    ks, op = world.ks, world.operator
    mine, elsewhere = await world.api("mine"), await world.api("elsewhere")
    key, other = await world.key(mine["id"]), await world.key(elsewhere["id"])
    gone = await world.key(elsewhere["id"])
    narrow = await world.root_key_with(["keys.verify"], api_ids=[mine["id"]])

    async def act() -> None:
        await ks.keys.revoke(op, other["id"])
        await ks.keys.delete(op, gone["id"])
        await ks.apis.update(op, elsewhere["id"], {"name": "renamed"})
        await ks.keys.revoke(op, key["id"])

    seen = await stream_during(world, act, root_key=narrow)

    assert changes(seen) == [("all", None), ("key", key["id"])]


async def test_a_stream_resumes_after_the_last_event_it_saw(world: World) -> None:
    api = await world.api()
    first, second = await world.key(api["id"]), await world.key(api["id"])
    opened = await world.client.get(PATH, params={"max_s": 0}, headers=world.auth())
    last = parse(opened.text)[-1]["id"]
    await world.ks.keys.revoke(world.operator, first["id"])  # while away
    await world.ks.keys.disable(world.operator, second["id"])

    resumed = await stream_during(world, nothing, max_s=0, headers={"Last-Event-ID": last})
    unknown = await stream_during(world, nothing, max_s=0, headers={"Last-Event-ID": "xx.1"})
    future = f"{world.ks.changes.epoch}.99999"
    ahead = await stream_during(world, nothing, max_s=0, headers={"Last-Event-ID": future})

    assert changes(resumed) == [("key", first["id"]), ("key", second["id"])]
    assert resumed[-1]["event"] == "ready"
    assert changes(unknown) == changes(ahead) == [("all", None)]


async def test_the_stream_ends_when_its_root_key_is_revoked(world: World) -> None:
    own = await world.ks.root_keys.create(world.operator, name="listener")

    async def act() -> None:
        await world.ks.root_keys.revoke(world.operator, own.root_key.id)

    started = asyncio.get_running_loop().time()
    seen = await stream_during(world, act, root_key=own.plaintext, max_s=5)

    assert asyncio.get_running_loop().time() - started < 2
    assert changes(seen) == [("all", None)]
    response = await world.client.get(PATH, headers=world.auth(own.plaintext))
    assert_problem(response, 401)


async def test_a_quiet_stream_is_pinged(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "HEARTBEAT_S", 0.05)

    seen = await stream_during(world, nothing, max_s=0.3)

    assert {"comment": "ping"} in seen
    assert seen[-1] == {"comment": "ping"} or seen[-1]["event"] == "ready"


async def test_the_stream_needs_keys_verify(world: World) -> None:
    lacking = await world.root_key_with(
        [p for p in ROOT_PERMISSIONS if p != "keys.verify" and not p.startswith("secrets.")]
    )

    assert_problem(await world.client.get(PATH), 401)
    problem = assert_problem(await world.client.get(PATH, headers=world.auth(lacking)), 403)
    assert "keys.verify" in problem["detail"]
    assert world.ks.changes.subscribers == 0


@pytest.mark.parametrize("max_s", ["-1", "61", "nan", "inf", "soon"])
async def test_a_bad_duration_is_refused(world: World, max_s: str) -> None:
    response = await world.client.get(PATH, params={"max_s": max_s}, headers=world.auth())

    assert assert_problem(response, 422)["errors"][0]["loc"] == ["query", "max_s"]


async def test_a_garbled_last_event_id_means_start_afresh(world: World) -> None:
    epoch = world.ks.changes.epoch
    for value in ("", "x" * 500, "..", f"{epoch}.-3", f"{epoch}.1e3", "\u00e9.1"):
        headers = {**world.auth(), "Last-Event-ID": value}
        raw = [(k.encode(), v.encode("utf-8")) for k, v in headers.items()]
        response = await world.client.get(PATH, params={"max_s": 0}, headers=raw)
        assert changes(parse(response.text)) == [("all", None)], value


# -- the change feed ---------------------------------------------------------------------


async def test_changes_from_other_nodes_are_relayed(keystead: Keystead) -> None:
    feed = keystead.changes
    applied: list[tuple[str, str | None, str | None]] = []
    flushed: list[bool] = []
    apply, flush = feed.relay(lambda *change: applied.append(change), lambda: flushed.append(True))
    subscription = feed.subscribe("ws_1")

    apply("key", "key_1", None)
    apply("owner", "org_1", "ws_2")  # another workspace's owner: not for ws_1
    flush()
    keystead.invalidate_key("key_2")
    received = [await subscription.next(0.1) for _ in range(3)]
    subscription.close()

    assert applied == [("key", "key_1", None), ("owner", "org_1", "ws_2")]
    assert flushed == [True]
    assert [(c.kind, c.id) for c in received if c is not None] == [
        ("key", "key_1"),
        ("all", None),
        ("key", "key_2"),
    ]
    assert feed.subscribers == 0


async def test_a_subscriber_that_falls_behind_is_told_to_flush(
    keystead: Keystead, clock: ManualClock
) -> None:
    feed = ChangeFeed(keystead.store, clock, queue_size=3)
    subscription = feed.subscribe("ws_1")

    for n in range(5):  # key_3 finds the queue full: everything queued becomes "all"
        feed.publish("key", f"key_{n}")
    received = [await subscription.next(0.01) for _ in range(2)]

    assert [(c.kind, c.id) for c in received if c is not None] == [
        ("all", None),
        ("key", "key_4"),
    ]
    assert await subscription.next(0.01) is None


async def test_a_subscriber_away_too_long_is_told_to_flush(
    keystead: Keystead, clock: ManualClock, admin: Principal
) -> None:
    feed = ChangeFeed(keystead.store, clock, history=2)
    last = feed.event_id(feed.head)
    for n in range(3):
        feed.publish("key", f"key_{n}", admin.workspace_id)

    late = feed.subscribe(admin.workspace_id, last)
    recent = feed.subscribe(admin.workspace_id, feed.event_id(1))

    assert [(c.kind, c.id) for c in late.backlog] == [("all", None)]
    assert [(c.kind, c.id) for c in recent.backlog] == [("key", "key_1"), ("key", "key_2")]


async def test_the_store_failing_mid_stream_ends_it_with_a_flush(
    world: World, settings: Settings
) -> None:
    api = await world.api()
    key = await world.key(api["id"])
    narrow = await world.root_key_with(["keys.verify"], api_ids=[api["id"]])
    engine = create_engine(settings.database_url)

    async def rename(old: str, new: str) -> None:
        async with engine.begin() as connection:
            await connection.execute(sa.text(f"ALTER TABLE {old} RENAME TO {new}"))

    async def act() -> None:
        await rename("ks_keys", "ks_keys_away")  # the stream's lookup of the key fails
        world.ks.invalidate_key(key["id"])  # as a change heard from another node

    try:
        seen = await stream_during(world, act, root_key=narrow, max_s=2)
    finally:
        await rename("ks_keys_away", "ks_keys")
        await engine.dispose()

    assert changes(seen) == [("all", None), ("all", None)]
    assert world.ks.changes.subscribers == 0


async def test_a_secrets_reader_streams_and_hears_only_the_secrets_it_may_read(
    vault: Keystead,
) -> None:
    """``keystead run --watch`` with a machine token: ``secrets.read`` on a path is
    enough to stream, and the stream tells of those secrets only, never of keys."""
    async with open_world(vault) as world:
        ks, op = world.ks, world.operator
        api = await world.api()
        key = await world.key(api["id"])
        reader = await world.root_key_with(["secrets.read:secret/payments/*"])

        async def act() -> None:
            await ks.keys.revoke(op, key["id"])
            await ks.secrets.put(op, "secret", "billing/stripe", {"key": "sk_live_other"})
            await ks.secrets.put(op, "secret", "payments/stripe", {"key": "sk_live_1"})

        seen = await stream_during(world, act, root_key=reader)

        assert changes(seen) == [("all", None), ("secret", "secret/payments/stripe")]
        unrelated = await world.root_key_with(["keys.read"])
        problem = assert_problem(await world.client.get(PATH, headers=world.auth(unrelated)), 403)
        assert "keys.verify" in problem["detail"]
