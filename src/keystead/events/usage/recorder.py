"""``UsageRecorder``: a bounded buffer of usage entries, written in batches by a
background task (raw rows and rollups in one transaction per batch), on this
process or by a writer process (``writer``, see ``writer.py``).

The hot path appends an entry: four slots at the end of a flat list (a list of
tuples would make the garbage collector walk every waiting entry); everything else
(building the record, the client's country, rollups, SQL) happens on the
flusher. Batches are cut by size and by time, never per wake-up: as soon as
``batch_size`` entries wait, the flusher writes whole batches of ``batch_size``;
what is left of a batch waits for the next tick, every ``flush_interval_s``,
which writes everything. So every entry is written within about one interval,
and a write costs the same per record at any load (a flusher that wrote
whatever waited each time it woke chased the tail of the buffer with batches
of a few records, each paying a transaction and nine rollup rows).

When the buffer holds ``capacity`` entries, the policy decides: ``drop``
refuses the new entry and counts it in ``dropped``; ``block`` makes the
producer await space (producers are coroutines on the event loop; a failing
store then stalls them until it answers again, so ``drop`` is the default).

A poison value never stops the pipeline: the writer cleans the text of each
record (``to_record``), and a record the store still refuses for its content is
split out of its batch, dropped and counted (``refused``), while the records
around it are written. Only an unreachable store (``StoreUnavailable``) makes a
batch wait for the next flush.

Crash loss: an unclean exit loses what was appended since the last committed
batch: the entries in the buffer and the batch being written, so at most
``capacity + batch_size`` entries and, below saturation, about one flush
interval's worth. Nothing committed is lost; a clean ``close()`` flushes all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from itertools import chain
from typing import Any, Literal

from keystead.core.geo import GeoIPCountryResolver
from keystead.core.usage import UsageRecord
from keystead.errors import ConfigurationError, StoreUnavailable
from keystead.events.usage._rollup import SLOTS
from keystead.events.usage._storable import suspects
from keystead.events.usage.writer import BatchWriter, InlineWriter
from keystead.store.usage import UsageStore

log = logging.getLogger("keystead.usage")

FullPolicy = Literal["drop", "block"]


class UsageRecorder:
    def __init__(
        self,
        store: UsageStore,
        *,
        capacity: int = 100_000,
        policy: FullPolicy = "drop",
        flush_interval_s: float = 1.0,
        batch_size: int = 1000,
        resolver: GeoIPCountryResolver | None = None,
        writer: BatchWriter | None = None,
    ) -> None:
        if policy not in ("drop", "block"):
            raise ConfigurationError(f"unknown usage buffer policy '{policy}'")
        self._store = store
        self.buffer: list[Any] = []
        """Entries, ``SLOTS`` items each: (at, verdict, context, principal) from
        verify, or (record, None, None, None)."""
        self.capacity = capacity
        self.limit = capacity * SLOTS
        """``len(buffer)`` of a full buffer."""
        self.policy = policy
        self.flush_interval_s = flush_interval_s
        self.batch_size = max(1, batch_size)
        self.wake_at = (min(self.batch_size, capacity) - 1) * SLOTS
        """``len(buffer)`` at which appending wakes the flusher (a batch waits)."""
        self._whole = self.wake_at + SLOTS
        """``len(buffer)`` of one whole batch (a full buffer when it is smaller)."""
        self.dropped = 0
        self.written = 0
        self.on_written: Callable[[list[UsageRecord]], None] | None = None
        """Called with each batch once it is committed (the export hub's feed)."""
        self.failed_batches = 0
        """Writes that failed because the store was unreachable (each retried)."""
        self.refused = 0
        """Records dropped because the store refused them for their content."""
        self.writer: BatchWriter = writer or InlineWriter(store, resolver, lambda: self.on_written)
        """Who commits the batches: this process, or a writer process."""
        self._wake = asyncio.Event()
        self._space = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        """Start the background flusher (needs a running event loop; idempotent)."""
        if self._task is None and not self._closed:
            with contextlib.suppress(RuntimeError):
                self._task = asyncio.get_running_loop().create_task(self._run())

    async def add(self, record: UsageRecord) -> None:
        """Record one request given as a whole record."""
        await self.append((record, None, None, None))

    async def append(self, entry: tuple[Any, Any, Any, Any]) -> None:
        """Append one entry: a record, or (at, verdict, context, principal)."""
        if not self.append_now(entry):
            await self.offer(entry)

    def append_now(self, entry: tuple[Any, Any, Any, Any]) -> bool:
        """``append`` when it need not wait: True once appended (or dropped and
        counted); False when the ``block`` policy must ``await offer(entry)``."""
        buffer = self.buffer
        n = len(buffer)
        if n < self.limit:
            buffer.extend(entry)
            if n == self.wake_at:
                self.wake()
            return True
        return not self.full()

    def wake(self) -> None:
        """A batch is waiting: have the flusher write now."""
        if self._task is None:
            self.start()
        self._wake.set()

    def full(self) -> bool:
        """The buffer is full: drop and count the new entry (``drop`` policy),
        or answer True: the caller must ``await offer(entry)`` (``block``)."""
        self.wake()
        if self.policy == "drop" or self._task is None:
            self.dropped += 1
            return False
        return True

    async def offer(self, entry: tuple[Any, Any, Any, Any]) -> None:
        """Append, waiting for space under the ``block`` policy."""
        if self._task is None:
            self.start()
        self._wake.set()
        buffer = self.buffer
        while len(buffer) >= self.limit:
            if self.policy == "drop" or self._task is None:
                self.dropped += 1
                return
            self._space.clear()
            await self._space.wait()
        buffer.extend(entry)

    async def _run(self) -> None:
        """Whole batches when woken, everything on each tick of the interval."""
        loop = asyncio.get_running_loop()
        tick = loop.time() + self.flush_interval_s
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, tick - loop.time()))
            self._wake.clear()
            due = 0  # woken: whole batches only, the rest waits for the tick
            if loop.time() >= tick:  # the tick: what waits now, not what comes meanwhile
                tick = loop.time() + self.flush_interval_s
                due = len(self.buffer)
            try:
                await self._flush(due)
            except Exception:  # pragma: no cover - flush logs its own failures
                log.exception("usage flusher failed")

    async def flush(self) -> None:
        """Write every waiting entry, ``batch_size`` per transaction, until the
        buffer is empty (``close``, tests). A batch the
        store cannot take because it is unreachable (``StoreUnavailable``) goes
        back to the front of the buffer (what no longer fits is counted as
        dropped) and is tried again on the next flush. A batch refused for its
        content (any other error) is split in halves until the records that
        cause it stand alone: those are dropped and counted in ``refused``, and
        everything else is written."""
        await self._flush(None)

    async def _flush(self, due: int | None) -> None:
        """Whole batches, and at least the first ``due`` slots of the buffer
        (None: everything, including what is appended meanwhile)."""
        async with self._lock:
            buffer = self.buffer
            left = sys.maxsize if due is None else due
            while len(buffer) >= self._whole or (buffer and left > 0):
                size = min(len(buffer), self.batch_size * SLOTS)
                batch = buffer[:size]
                del buffer[:size]
                left -= size
                self._space.set()
                if not await self._write(batch):
                    return

    async def _write(self, batch: list[Any]) -> bool:
        """Write a batch, splitting it as long as the store refuses its content;
        False (with what is unwritten back in the buffer) when the store is
        unreachable."""
        parts = [batch]  # a stack: the next part to write is last
        while parts:
            part = parts.pop()
            try:
                await self.writer.write(part)
            except BaseException as exc:
                if isinstance(exc, Exception) and not isinstance(exc, StoreUnavailable):
                    self._split(part, parts, exc)
                    continue
                unwritten = [*part, *chain.from_iterable(reversed(parts))]
                room = max(0, self.limit - len(self.buffer))
                self.dropped += max(0, len(unwritten) - room) // SLOTS
                self.buffer[0:0] = unwritten[:room]
                if not isinstance(exc, Exception):
                    raise  # cancelled: the batch waits for the next flush
                self.failed_batches += 1
                # the store's own message only: a driver's may quote the values
                log.warning("could not write %d usage records: %s", len(unwritten) // SLOTS, exc)
                return False
            self.written += len(part) // SLOTS
        return True

    def _split(self, part: list[Any], parts: list[list[Any]], exc: Exception) -> None:
        """Push the two halves of a refused part, or drop it when it holds one entry."""
        n = len(part) // SLOTS
        if n > 1:
            half = n // 2 * SLOTS
            parts.append(part[half:])
            parts.append(part[:half])
            return
        self.refused += 1
        log.warning(
            "dropped a usage record the store refused (%s); fields no store can hold: %s",
            type(exc).__name__,
            ", ".join(suspects(part)) or "none found",
        )

    @property
    def pending(self) -> int:
        return len(self.buffer) // SLOTS

    async def close(self) -> None:
        """Stop the flusher and write everything still waiting."""
        self._closed = True
        if self._task is not None:
            task, self._task = self._task, None
            self._wake.set()  # the loop ends after its current flush
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._space.set()
        await self.flush()
        await self.writer.close()


__all__ = ["FullPolicy", "UsageRecorder"]
