"""``Keystead.verify_now``: verification in a worker thread, for threaded
servers. It answers what ``verify`` answers, only when it can without I/O,
stays exact when threads and the loop share a rate limit, and leaves its
bookkeeping to ``settle_now``."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

from keystead.config import Settings
from keystead.core import keyformat
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import Code, VerifyContext
from keystead.core.verify import Verdict
from keystead.service import Keystead

CONTEXT = VerifyContext(ip="192.0.2.7", method="GET", path="/x")


async def _key(ks: Keystead, admin: Principal, **fields: object) -> tuple[str, str]:
    apis = await ks.apis.list(admin)
    api_id = apis[0].id if apis else (await ks.apis.create(admin, name="api")).id
    created = await ks.keys.create(admin, api_id=api_id, **fields)
    return created.plaintext, created.key.id


def _rate(limit: int, name: str = "rps") -> list[dict[str, object]]:
    return [{"name": name, "limit": limit, "duration_s": 60}]


def _same(now: Verdict | None, loop: Verdict) -> None:
    assert now is not None
    assert (now.code, now.reason, now.key, now.limits) == (
        loop.code,
        loop.reason,
        loop.key,
        loop.limits,
    )


async def test_a_cached_key_is_decided_as_verify_decides_it(
    keystead: Keystead, admin: Principal
) -> None:
    plain, _ = await _key(keystead, admin, permissions=["docs.read"])
    limited, _ = await _key(keystead, admin, ratelimits=_rate(3))
    assert keystead.verify_now(plain, CONTEXT) is None  # not cached yet: the loop's work
    for key in (plain, limited):
        await keystead.verify(key, CONTEXT, record=False)
    _same(keystead.verify_now(plain, CONTEXT), await keystead.verify(plain, CONTEXT))
    wanting = VerifyContext(ip="192.0.2.7", permissions="docs.write")
    _same(keystead.verify_now(plain, wanting), await keystead.verify(plain, wanting))
    # the limit of 3: one spent by the loop above, then two here, then refused
    answers = [keystead.verify_now(limited, CONTEXT) for _ in range(3)]
    assert [a.code if a else None for a in answers] == [Code.VALID, Code.VALID, Code.RATE_LIMITED]
    assert [a.limits[0].remaining for a in answers if a] == [1, 0, 0]
    assert answers[2] is not None and answers[2].retry_after
    assert (await keystead.verify(limited, CONTEXT)).code is Code.RATE_LIMITED


async def test_state_changes_reach_it(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    expires = datetime.fromtimestamp(clock.now() + 60, UTC).isoformat()
    key, key_id = await _key(keystead, admin, expires_at=expires)
    await keystead.verify(key, CONTEXT)
    assert (verdict := keystead.verify_now(key, CONTEXT)) is not None and verdict.valid
    clock.advance(60)
    assert (verdict := keystead.verify_now(key, CONTEXT)) is not None
    assert verdict.code is Code.EXPIRED
    other, other_id = await _key(keystead, admin)
    await keystead.verify(other, CONTEXT)
    await keystead.keys.revoke(admin, other_id)  # evicted: the next answer is the loop's
    assert keystead.verify_now(other, CONTEXT) is None
    assert (await keystead.verify(other, CONTEXT)).code is Code.REVOKED
    assert (verdict := keystead.verify_now(other, CONTEXT)) is not None
    assert verdict.code is Code.REVOKED
    assert key_id != other_id


async def test_what_needs_the_loop_is_left_to_it(
    keystead: Keystead, admin: Principal, settings: Settings, clock: ManualClock
) -> None:
    two, _ = await _key(keystead, admin, ratelimits=_rate(5) + _rate(5, "burst"))
    one, _ = await _key(keystead, admin, ratelimits=_rate(5))
    for key in (two, one):
        await keystead.verify(key, CONTEXT)
    assert keystead.verify_now(two, CONTEXT) is None  # several limits: one atomic call
    assert keystead.verify_now(one, CONTEXT, cost=2) is None
    assert keystead.verify_now("nonsense", CONTEXT) is None  # counted per IP on the loop
    assert keystead.verify_now(keyformat.generate("ks"), CONTEXT) is None
    shedding = await Keystead.open(
        settings=settings.model_copy(update={"shed_max_inflight": 10}), clock=clock
    )
    try:
        await shedding.verify(one, CONTEXT)
        assert shedding.verify_now(one, CONTEXT) is None
    finally:
        await shedding.close()


async def test_a_blocked_address_is_left_to_the_loop(
    limited_keystead: Keystead,
) -> None:
    ks = limited_keystead
    admin = await ks.workspaces.local_operator()
    key, _ = await _key(ks, admin)
    await ks.verify(key, CONTEXT)
    for _ in range(4):  # the fixture's failed-attempts limit is 3
        await ks.verify(keyformat.generate("ks"), CONTEXT)
    assert ks.verify_now(key, CONTEXT) is None
    assert (await ks.verify(key, CONTEXT)).reason == "failed_attempts"


async def test_threads_and_the_loop_share_a_limit_exactly(
    keystead: Keystead, admin: Principal
) -> None:
    key, _ = await _key(keystead, admin, ratelimits=_rate(1000))
    await keystead.verify(key, CONTEXT)  # cached; 999 left
    allowed: list[int] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        count = 0
        for _ in range(200):
            verdict = keystead.verify_now(key, CONTEXT)
            assert verdict is not None
            count += verdict.valid
        allowed.append(count)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    on_loop = 0
    while any(thread.is_alive() for thread in threads):
        on_loop += (await keystead.verify(key, CONTEXT)).valid
        await asyncio.sleep(0)
    for thread in threads:
        thread.join()
    assert sum(allowed) + on_loop == 999


async def test_settling_counts_what_verify_counts(
    keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    key, key_id = await _key(keystead, admin, ratelimits=_rate(1))
    await keystead.verify(key, CONTEXT, record=False)
    outcomes = keystead.metrics.outcomes
    before = dict(outcomes)
    refused = keystead.verify_now(key, CONTEXT)
    assert refused is not None and refused.code is Code.RATE_LIMITED
    assert outcomes == before  # nothing counted in the worker thread
    keystead.settle_now(refused)
    assert outcomes[Code.RATE_LIMITED] == before[Code.RATE_LIMITED] + 1
    clock.advance(60)
    valid = keystead.verify_now(key, CONTEXT)
    assert valid is not None and valid.valid
    keystead.settle_now(valid)
    await keystead.flush()
    used = (await keystead.keys.get(admin, key_id)).last_used_at
    assert used == datetime.fromtimestamp(clock.now(), UTC)
