"""Threaded servers: what their workers hand to the service's loop, and what
they no longer wait for it to do."""

from __future__ import annotations

import asyncio
import threading

from keystead.core.models import Code, VerifyContext
from keystead.integrations.embedded import SyncEmbedded
from keystead.integrations.guard import Served
from keystead.integrations.handoff import Handoff
from keystead.sync import SyncKeystead

from .kit import issue_sync, usage_of_sync

CONTEXT = VerifyContext(ip="127.0.0.1", method="GET", path="/x")


def test_items_from_many_threads_all_run_in_order_per_thread() -> None:
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever)
    runner.start()
    ran: list[tuple[int, int]] = []
    done = threading.Semaphore(0)

    async def run(item: tuple[int, int]) -> None:
        ran.append(item)

    handoff: Handoff[tuple[int, int]] = Handoff(loop, run, done.release, delay=0.001)

    def worker(number: int) -> None:
        for i in range(500):
            handoff.put((number, i))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for _ in range(2000):
        assert done.acquire(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    runner.join()
    loop.close()
    assert sorted(ran) == [(n, i) for n in range(4) for i in range(500)]
    for n in range(4):
        assert [i for m, i in ran if m == n] == list(range(500))
    ended: list[int] = []
    closed: Handoff[int] = Handoff(loop, run_nothing, lambda: ended.append(1))
    closed.put(1)  # the loop is closed: the item is given up, and still ended
    assert ended == [1]


async def run_nothing(item: int) -> None:  # pragma: no cover - never called
    raise AssertionError(item)


def test_a_cached_key_is_checked_while_the_loop_is_busy(sync_keystead: SyncKeystead) -> None:
    """Verification of a cached key happens in the worker's thread: it answers
    even while the service's loop is held up; the usage record follows once
    the loop is free."""
    issued = issue_sync(sync_keystead, ratelimits=[{"name": "rps", "limit": 2, "duration_s": 60}])
    guard = SyncEmbedded(sync_keystead)
    first = guard.check(issued.plaintext, CONTEXT)  # on the loop: the key gets cached
    guard.finish(first, Served(200, 1.0, 0, 2))
    held, release = threading.Event(), threading.Event()
    released_by_the_test: list[bool] = []

    def hold() -> None:  # on the loop: nothing else runs there until released
        held.set()
        released_by_the_test.append(release.wait(10))

    sync_keystead.loop.call_soon_threadsafe(hold)
    assert held.wait(10)
    answers = []
    try:
        for _ in range(2):
            check = guard.check(issued.plaintext, CONTEXT)
            answers.append(check)
            guard.finish(check, Served(200 if check.identity else 429, 1.0, 0, 2))
    finally:
        release.set()
    records = usage_of_sync(sync_keystead, issued.key_id, 3, completed=True)
    # had a check needed the loop, it would have waited for the hold to time out
    assert released_by_the_test == [True]
    assert [c.identity is not None for c in answers] == [True, False]
    assert answers[1].answer is not None and answers[1].answer[0] == 429
    assert [c.outcome.code for c in answers if c.outcome] == [Code.VALID, Code.RATE_LIMITED]
    assert sorted(r.status or 0 for r in records) == [200, 200, 429]
    guard.close()
