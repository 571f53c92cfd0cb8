"""The lifecycle scheduler on SQLite and PostgreSQL: policies rotate keys once,
warnings and expiry notices are sent once, and one node acts at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code
from keystead.service import Keystead

DAY = 86_400
POLICY = {"max_age_s": 10 * DAY, "grace_period_s": 3600, "warn_before_s": 2 * DAY}


async def _types(ks: Keystead, admin: Principal) -> list[str]:
    found = await ks.store.list_events(admin.workspace_id, after=None, limit=10_000)
    return [e.type for e in found]


@pytest.fixture
async def second_node(settings: Settings, clock: ManualClock) -> AsyncIterator[Keystead]:
    ks = await Keystead.open(settings=settings, clock=clock)
    try:
        yield ks
    finally:
        await ks.close()


async def test_a_policy_warns_rotates_and_announces_the_end_once(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api = await keystead.apis.create(admin, name="aging", rotation_policy=POLICY)
    old = await keystead.keys.create(
        admin, api_id=api.id, owner_id="acme", credits={"remaining": 5}
    )
    idle = await keystead.apis.create(admin, name="no-policy")
    untouched = await keystead.keys.create(admin, api_id=idle.id)
    scheduler = keystead.scheduler

    report = await scheduler.run_once()
    assert (report.acted, report.rotated, report.warned) == (True, [], 0)

    clock.advance(8 * DAY + 1)  # inside the two-day warning window
    assert (await scheduler.run_once()).warned == 1
    assert (await scheduler.run_once()).warned == 0  # once only
    assert (await _types(keystead, admin)).count("key.expiring") == 1

    clock.advance(2 * DAY)  # past the maximum age
    assert [d.candidate.key.id for d in await scheduler.due(admin)] == [old.key.id]
    report = await scheduler.run_once()
    assert [d.candidate.key.id for d in report.rotated] == [old.key.id]
    rotated = report.rotated[0]
    assert rotated.new_key_id is not None and rotated.pickup_id is not None
    assert (await scheduler.run_once()).rotated == []  # never twice
    assert await scheduler.due(admin) == []

    successor = await keystead.keys.get(admin, rotated.new_key_id)
    assert (successor.rotated_from, successor.owner_id) == (old.key.id, "acme")
    assert await keystead.keys.credits(admin, successor.id) == 5
    assert (await keystead.verify(old.plaintext)).code is Code.VALID  # the grace hour
    clock.advance(3600)
    expired = await keystead.verify(old.plaintext)
    assert (expired.code, expired.reason) == (Code.EXPIRED, "rotated")
    assert (await scheduler.run_once()).expired == 1
    assert (await scheduler.run_once()).expired == 0

    types = await _types(keystead, admin)
    assert (types.count("key.rotated"), types.count("key.expired")) == (1, 1)
    assert (await keystead.keys.get(admin, untouched.key.id)).rotated_to is None


async def test_a_key_policy_overrides_the_api_and_disabled_keys_wait(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api = await keystead.apis.create(admin, name="mixed", rotation_policy=POLICY)
    fast = await keystead.keys.create(
        admin, api_id=api.id, rotation_policy={"max_age_s": DAY, "grace_period_s": 0}
    )
    slow = await keystead.keys.create(admin, api_id=api.id)
    paused = await keystead.keys.create(admin, api_id=api.id, enabled=False)
    clock.advance(DAY + 1)
    report = await keystead.scheduler.run_once()
    assert [d.candidate.key.id for d in report.rotated] == [fast.key.id]
    assert (await keystead.verify(fast.plaintext)).code is Code.EXPIRED  # grace 0
    clock.advance(10 * DAY)
    report = await keystead.scheduler.run_once()
    rotated = {d.candidate.key.id for d in report.rotated}
    assert slow.key.id in rotated and paused.key.id not in rotated


async def test_one_node_acts_and_no_key_is_rotated_twice(
    keystead: Keystead, second_node: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api = await keystead.apis.create(admin, name="fleet", rotation_policy=POLICY)
    created = [await keystead.keys.create(admin, api_id=api.id) for _ in range(12)]
    clock.advance(10 * DAY + 1)
    reports = await asyncio.gather(keystead.scheduler.run_once(), second_node.scheduler.run_once())
    assert sorted(r.acted for r in reports) == [False, True]
    rotated = [d.candidate.key.id for r in reports for d in r.rotated]
    assert sorted(rotated) == sorted(c.key.id for c in created)
    # the lease holder keeps it; the other node stays idle until it lapses
    holder, other = reports if reports[0].acted else reports[::-1]
    again = await asyncio.gather(keystead.scheduler.run_once(), second_node.scheduler.run_once())
    assert sorted(r.acted for r in again) == [False, True]
    assert all(r.rotated == [] for r in again)
    page = await keystead.keys.list(admin, api_id=api.id, limit=1000)
    assert len(page.items) == 24  # twelve keys, twelve successors, nothing more
    assert holder.acted and not other.acted


async def test_the_lease_passes_on_when_its_holder_stops(
    keystead: Keystead, second_node: Keystead, admin: Principal, clock: ManualClock
) -> None:
    assert (await keystead.scheduler.run_once(lease_s=30)).acted
    assert not (await second_node.scheduler.run_once(lease_s=30)).acted
    clock.advance(31)  # the holder died without releasing: the lease lapses
    assert (await second_node.scheduler.run_once(lease_s=30)).acted
    assert not (await keystead.scheduler.run_once(lease_s=30)).acted


async def test_rotate_due_acts_only_in_the_callers_workspace(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api = await keystead.apis.create(admin, name="mine", rotation_policy=POLICY)
    mine = await keystead.keys.create(admin, api_id=api.id)
    other = await keystead.workspaces.create("other")
    theirs_admin = await keystead.root_keys.authenticate(other.root_key.plaintext)
    their_api = await keystead.apis.create(theirs_admin, name="theirs", rotation_policy=POLICY)
    theirs = await keystead.keys.create(theirs_admin, api_id=their_api.id)
    clock.advance(10 * DAY + 1)
    assert [d.candidate.key.id for d in await keystead.scheduler.due(admin)] == [mine.key.id]
    done = await keystead.scheduler.rotate_due(admin)
    assert [d.candidate.key.id for d in done] == [mine.key.id]
    assert (await keystead.keys.get(theirs_admin, theirs.key.id)).rotated_to is None


async def test_an_expiry_without_a_policy_is_announced_once(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api = await keystead.apis.create(admin, name="short-lived")
    await keystead.keys.create(
        admin, api_id=api.id, expires_at=datetime.fromtimestamp(clock.now() + 60, UTC)
    )
    assert (await keystead.scheduler.run_once()).expired == 0
    clock.advance(61)
    assert (await keystead.scheduler.run_once()).expired == 1
    assert (await keystead.scheduler.run_once()).expired == 0
    assert (await _types(keystead, admin)).count("key.expired") == 1


async def test_a_pass_erases_pickups_that_expired_unclaimed(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api = await keystead.apis.create(admin, name="unclaimed", rotation_policy=POLICY)
    await keystead.keys.create(admin, api_id=api.id, owner_id="acme")
    clock.advance(10 * DAY + 1)
    report = await keystead.scheduler.run_once()
    assert len(report.rotated) == 1 and report.purged == 0
    pickup_id = report.rotated[0].pickup_id
    assert pickup_id is not None
    held = await keystead.store.get_pickup(admin.workspace_id, pickup_id)
    assert held is not None and held.ciphertext is not None
    clock.advance(30 * DAY)  # past the grace and the pickup's week of slack
    assert (await keystead.scheduler.run_once()).purged == 1
    erased = await keystead.store.get_pickup(admin.workspace_id, pickup_id)
    assert erased is not None and erased.ciphertext is None


async def test_a_pass_reads_only_keys_that_may_need_something(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api = await keystead.apis.create(admin, name="young", rotation_policy=POLICY)
    await keystead.keys.create_many(admin, [{"api_id": api.id}] * 30)
    own = await keystead.keys.create(admin, api_id=api.id, rotation_policy={"max_age_s": 30 * DAY})
    report = await keystead.scheduler.run_once()
    assert report.scanned == 1  # the key with a policy of its own: policies are per key
    clock.advance(8 * DAY + 1)  # every API key enters its warning window
    report = await keystead.scheduler.run_once()
    assert (report.scanned, report.warned) == (31, 30)
    assert (await keystead.keys.get(admin, own.key.id)).rotated_to is None
