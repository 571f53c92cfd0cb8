"""The webhook tables on SQLite and PostgreSQL: endpoints scoped by workspace, the
fan-out of the outbox (once per event, even from racing nodes), claims that one
node wins, attempts, replay, and deleting an endpoint with its deliveries."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from keystead.config import Settings
from keystead.core.events import Event
from keystead.core.ids import new_id
from keystead.core.models import Workspace
from keystead.errors import Conflict
from keystead.events.webhooks import render_body
from keystead.service import Keystead
from keystead.store import Store, open_store
from keystead.store.webhooks import AttemptOutcome, DeliveryAttempt, Webhook

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=40)


def webhook(workspace_id: str, events: tuple[str, ...] = ("*",), enabled: bool = True) -> Webhook:
    return Webhook(
        id=new_id("wh", NOW.timestamp()),
        workspace_id=workspace_id,
        url="https://example.test/hook",
        events=events,
        description=None,
        enabled=enabled,
        created_at=NOW,
        updated_at=NOW,
        sealed_secret=b"\x01sealed",
    )


def event(workspace_id: str, type_: str = "key.revoked") -> Event:
    return Event.new(type_, workspace_id, NOW, {"key_id": "key_1", "start": "ks_ab"})


def dlv() -> str:
    return new_id("dlv", NOW.timestamp())


async def fan_out(store: Store, limit: int = 100) -> int:
    return await store.fan_out_events(NOW, limit=limit, render=render_body, new_delivery_id=dlv)


def attempt(delivery_id: str, status_code: int | None, at: datetime = NOW) -> DeliveryAttempt:
    return DeliveryAttempt(
        id=new_id("att", at.timestamp()),
        delivery_id=delivery_id,
        attempted_at=at,
        status_code=status_code,
        error=None if status_code else "timeout",
        duration_ms=12,
        response_body="ok" if status_code else None,
        succeeded=status_code == 200,
    )


@pytest.fixture
async def store(keystead: Keystead) -> Store:
    for ident in ("ws_a", "ws_b"):
        await keystead.store.insert_workspace(Workspace(ident, ident, NOW))
    return keystead.store


async def test_endpoints_are_scoped_by_workspace(store: Store) -> None:
    mine, theirs = webhook("ws_a", ("key.revoked", "key.rotated")), webhook("ws_b")
    await store.insert_webhook(mine)
    await store.insert_webhook(theirs)
    assert await store.get_webhook("ws_a", mine.id) == mine
    assert await store.get_webhook("ws_a", theirs.id) is None
    assert [w.id for w in await store.list_webhooks("ws_a")] == [mine.id]
    assert await store.update_webhook("ws_a", theirs.id, {"enabled": False}) is None
    changed = await store.update_webhook("ws_a", mine.id, {"enabled": False, "url": "http://x"})
    assert changed is not None and (changed.enabled, changed.url) == (False, "http://x")
    assert changed.events == ("key.revoked", "key.rotated")
    assert not await store.delete_webhook("ws_a", theirs.id)
    assert await store.delete_webhook("ws_a", mine.id)
    assert await store.get_webhook("ws_a", mine.id) is None
    assert await store.get_webhook("ws_b", theirs.id) is not None
    assert "sealed" not in repr(theirs)


async def test_fan_out_follows_subscriptions_once(store: Store) -> None:
    every, revoked = webhook("ws_a"), webhook("ws_a", ("key.revoked",))
    off, elsewhere = webhook("ws_a", enabled=False), webhook("ws_b")
    for item in (every, revoked, off, elsewhere):
        await store.insert_webhook(item)
    events = [event("ws_a"), event("ws_a", "key.created"), event("ws_b", "key.enabled")]
    await store.append_events(events)
    assert await fan_out(store, limit=2) == 2
    assert await fan_out(store) == 1
    assert await fan_out(store) == 0
    found = await store.list_deliveries("ws_a", webhook_id=None, status=None, after=None, limit=50)
    pairs = sorted((d.webhook_id, d.event_type) for d in found)
    assert pairs == sorted(
        [(every.id, "key.revoked"), (every.id, "key.created"), (revoked.id, "key.revoked")]
    )
    theirs = await store.list_deliveries("ws_b", webhook_id=None, status=None, after=None, limit=9)
    assert [(d.webhook_id, d.event_type) for d in theirs] == [(elsewhere.id, "key.enabled")]
    first = next(d for d in found if d.event_type == "key.revoked")
    body = json.loads(first.body)
    assert body["type"] == "key.revoked"
    assert body["data"] == {
        "key_id": "key_1",
        "start": "ks_ab",
        "event_id": first.event_id,
        "workspace_id": "ws_a",
    }
    assert all(d.status == "pending" and d.attempts == 0 for d in found)
    assert all(e.id for e in await store.list_events("ws_a", after=None, limit=9))


async def test_racing_fan_outs_queue_each_event_once(store: Store, settings: Settings) -> None:
    await store.insert_webhook(webhook("ws_a"))
    await store.append_events([event("ws_a") for _ in range(60)])
    other = open_store(settings.database_url)  # a second node's connections
    try:
        counts = await asyncio.gather(
            *(fan_out(s, limit=7) for s in (store, other, store, other) for _ in range(5))
        )
        while await fan_out(other, limit=7):
            pass
    finally:
        await other.close()
    found = await store.list_deliveries("ws_a", webhook_id=None, status=None, after=None, limit=99)
    assert len(found) == 60 and len({d.event_id for d in found}) == 60
    assert sum(counts) <= 60


async def test_claims_are_won_once_until_the_lease_ends(store: Store) -> None:
    live, off = webhook("ws_a"), webhook("ws_a")
    await store.insert_webhook(live)
    await store.insert_webhook(off)
    await store.append_events([event("ws_a")])
    await fan_out(store)
    await store.update_webhook("ws_a", off.id, {"enabled": False})
    claimed = await store.claim_deliveries(NOW, lease_until=NOW + LEASE, limit=10, claim="c1")
    assert [c.delivery.webhook_id for c in claimed] == [live.id]  # disabled: held back
    (item,) = claimed
    assert (item.url, item.sealed_secret, item.sealed_old_secret) == (live.url, b"\x01sealed", None)
    again = await store.claim_deliveries(NOW, lease_until=NOW + LEASE, limit=10, claim="c2")
    assert again == []
    later = NOW + LEASE + timedelta(seconds=1)  # the claimer died: the lease ran out
    retaken = await store.claim_deliveries(later, lease_until=later + LEASE, limit=10, claim="c3")
    assert [c.delivery.id for c in retaken] == [item.delivery.id]

    stale = AttemptOutcome(attempt(item.delivery.id, None), "failed", 1, NOW)
    assert not await store.record_attempt(item.delivery.id, "c1", stale, NOW)  # c3 holds it
    done = AttemptOutcome(attempt(item.delivery.id, 200, later), "succeeded", 1, None)
    assert await store.record_attempt(item.delivery.id, "c3", done, later)
    found = await store.get_delivery("ws_a", item.delivery.id)
    assert found is not None
    assert (found.status, found.attempts, found.next_attempt_at) == ("succeeded", 1, None)
    assert (found.last_status_code, found.last_error) == (200, None)
    attempts = await store.list_attempts(item.delivery.id)
    assert [(a.status_code, a.error) for a in attempts] == [(None, "timeout"), (200, None)]


async def test_racing_claims_never_share_a_delivery(store: Store, settings: Settings) -> None:
    await store.insert_webhook(webhook("ws_a"))
    await store.append_events([event("ws_a") for _ in range(40)])
    while await fan_out(store):
        pass
    other = open_store(settings.database_url)
    try:
        rounds = await asyncio.gather(
            *(
                s.claim_deliveries(NOW, lease_until=NOW + LEASE, limit=6, claim=f"c{i}")
                for i, s in enumerate([store, other] * 6)
            )
        )
    finally:
        await other.close()
    ids = [c.delivery.id for claimed in rounds for c in claimed]
    assert len(ids) == len(set(ids))
    assert len(ids) == 40


async def test_old_secrets_are_offered_until_they_expire(store: Store) -> None:
    item = webhook("ws_a")
    await store.insert_webhook(item)
    await store.update_webhook(
        "ws_a",
        item.id,
        {"old_secret": b"\x01old", "old_secret_expires_at": NOW + timedelta(hours=1)},
    )
    await store.append_events([event("ws_a"), event("ws_a")])
    await fan_out(store)
    now_claim = await store.claim_deliveries(NOW, lease_until=NOW + LEASE, limit=1, claim="a")
    assert now_claim[0].sealed_old_secret == b"\x01old"
    late = NOW + timedelta(hours=2)
    late_claim = await store.claim_deliveries(late, lease_until=late + LEASE, limit=1, claim="b")
    assert late_claim[0].sealed_old_secret is None


async def test_replay_and_delete(store: Store) -> None:
    item = webhook("ws_a")
    await store.insert_webhook(item)
    await store.append_events([event("ws_a")])
    await fan_out(store)
    (claimed,) = await store.claim_deliveries(NOW, lease_until=NOW + LEASE, limit=5, claim="c")
    delivery_id = claimed.delivery.id
    replayed, pending = await store.replay_delivery("ws_a", delivery_id, NOW)
    assert not replayed and pending is not None and pending.status == "pending"
    dead = AttemptOutcome(attempt(delivery_id, 500), "dead", 3, None)
    assert await store.record_attempt(delivery_id, "c", dead, NOW)
    assert await store.replay_delivery("ws_b", delivery_id, NOW) == (False, None)
    later = NOW + timedelta(minutes=5)
    replayed, again = await store.replay_delivery("ws_a", delivery_id, later)
    assert replayed and again is not None
    assert (again.status, again.attempts, again.next_attempt_at) == ("pending", 0, later)
    assert len(await store.list_attempts(delivery_id)) == 1  # the history stays

    dead_letter = await store.list_deliveries(
        "ws_a", webhook_id=item.id, status="pending", after=None, limit=5
    )
    assert [d.id for d in dead_letter] == [delivery_id]
    assert await store.delete_webhook("ws_a", item.id)
    assert await store.get_delivery("ws_a", delivery_id) is None
    assert await store.list_attempts(delivery_id) == []


async def test_a_duplicate_delivery_is_a_conflict(store: Store) -> None:
    """Belt and braces under the fan-out: one event, one delivery per endpoint."""
    item = webhook("ws_a")
    await store.insert_webhook(item)
    await store.append_events([event("ws_a")])
    await fan_out(store)
    (found,) = await store.list_deliveries(
        "ws_a", webhook_id=None, status=None, after=None, limit=5
    )
    with pytest.raises(Conflict):
        await store.insert_webhook(item)
    assert found.webhook_id == item.id
