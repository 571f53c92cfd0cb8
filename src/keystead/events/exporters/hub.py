"""``ExportHub``: producers hand it records without waiting; a background task
sends them to every configured sink in batches.

Producers call :meth:`ExportHub.offer` after their own write committed (usage
batches, audit entries), so a record is exported only for what was stored. The
queue is bounded: when sinks fall behind, new records are dropped and counted
(``dropped``) rather than slowing verification or management calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Sequence

from keystead.events.exporters.base import ExportRecord, Sink

log = logging.getLogger("keystead.exports")

BATCH = 500


class ExportHub:
    def __init__(self, sinks: Sequence[Sink], *, capacity: int = 50_000) -> None:
        self.sinks = tuple(sinks)
        self.capacity = capacity
        self.dropped = 0
        self.exported = 0
        self._queue: deque[ExportRecord] = deque()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def enabled(self) -> bool:
        return bool(self.sinks)

    def offer(self, records: Iterable[ExportRecord]) -> None:
        """Queue records for every sink; never blocks, never raises. Without
        sinks, nothing is queued (nor built: ``records`` may be a generator)."""
        if not self.sinks:
            return
        queue = self._queue
        for record in records:
            if len(queue) >= self.capacity:
                self.dropped += 1
                continue
            queue.append(record)
        if queue:
            self._ready.set()

    def start(self) -> None:
        if self.sinks and self._task is None:
            self._task = asyncio.create_task(self._run(), name="keystead-exports")

    async def flush(self) -> None:
        """Send everything queued now (also what ``close`` does)."""
        queue = self._queue
        while queue:
            batch = [queue.popleft() for _ in range(min(BATCH, len(queue)))]
            for sink in self.sinks:
                try:
                    await sink.emit(batch)
                except Exception:  # a sink must not take the others down
                    log.warning("export sink %s failed", sink.target, exc_info=True)
            self.exported += len(batch)

    async def close(self, timeout_s: float = 10.0) -> None:
        """Let the sender finish what it holds (a batch being sent is never cut
        off), send the rest, close the sinks."""
        task, self._task = self._task, None
        if task is not None:
            self._closing = True
            self._ready.set()
            try:
                await asyncio.wait_for(task, timeout_s)
            except TimeoutError:
                log.warning("export sinks did not drain within %.0f s", timeout_s)
        await self.flush()
        for sink in self.sinks:
            with contextlib.suppress(Exception):
                await sink.close()

    async def _run(self) -> None:
        while not self._closing:
            await self._ready.wait()
            self._ready.clear()
            await self.flush()


__all__ = ["ExportHub"]
