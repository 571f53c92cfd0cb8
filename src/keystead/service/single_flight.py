"""One load at a time per cache key: concurrent misses of the same key wait for
the load already running instead of each asking the store.

When a cached key expires under load, every request in flight for it misses at
once; without this, each one reads the key, its roles and its limits from the
store (dozens of identical reads, and the event loop busy with them for tens of
milliseconds). A load is joined only within the cache generation it started
in: after an invalidation (a revoke, say), the next miss reads afresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    __slots__ = ("_running",)

    def __init__(self) -> None:
        self._running: dict[K, tuple[int, asyncio.Task[V]]] = {}

    async def run(self, key: K, generation: int, load: Callable[[], Coroutine[Any, Any, V]]) -> V:
        """The result of ``load()``, or of the one already running for ``key``
        in the same ``generation``. A caller that is cancelled leaves the load
        running for the others."""
        running = self._running.get(key)
        if running is not None and running[0] == generation:
            task = running[1]
        else:
            task = asyncio.ensure_future(load())
            self._running[key] = (generation, task)
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    @property
    def running(self) -> int:
        return len(self._running)

    def _finished(self, key: K, task: asyncio.Task[V]) -> None:
        running = self._running.get(key)
        if running is not None and running[1] is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter may have gone


__all__ = ["SingleFlight"]
