"""Audit entries of reads, appended to the hash chain by group commit.

A change's audit entry commits in the change's own transaction (``events.audit``).
A read changes nothing, so a transaction per read would only be there for its audit
entry: on SQLite that serialises every read behind the write lock, on PostgreSQL it
queues every read of a workspace on its chain head's row lock. Reads (a secret's
value, transit encrypt/decrypt/rewrap/datakey) hand their entry to the
``AuditWriter`` instead, and wait for it to commit before they answer.

The writer appends every entry waiting in ONE transaction (``Store.append_audit``);
entries that arrive while that commit runs wait for the next one, which starts as
soon as it ends (classic group commit: a lone read commits at once, no timer; under
load each commit carries every read that came meanwhile). Within a batch the chain
takes the entries in arrival order. A batch that fails to commit fails every read in
it, with the store's error: a value is never handed out without its audit entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from keystead.core.audit import AuditRecord

MAX_BATCH = 1000
"""Entries per transaction at most (the rest go in the next one, at once)."""


class AuditAppender(Protocol):
    async def append_audit(self, records: Sequence[AuditRecord]) -> None: ...


class AuditWriter:
    def __init__(self, store: AuditAppender) -> None:
        self._store = store
        self._waiting: list[tuple[AuditRecord, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        """Transactions committed so far (for tests and figures)."""

    def write(self, record: AuditRecord) -> asyncio.Future[None]:
        """Queue ``record``; the answer, to await, is done once it is committed to
        the chain, or raises what the commit raised. A plain function handing out
        the future itself: a read suspends on it with one frame less to pass."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._waiting.append((record, done))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())
        return done

    async def _run(self) -> None:
        while self._waiting:
            batch = self._waiting[:MAX_BATCH]
            del self._waiting[:MAX_BATCH]
            try:
                await self._store.append_audit([record for record, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            except BaseException:
                self._cancel(batch + self._waiting)
                self._waiting = []
                raise
            self.batches += 1
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    @staticmethod
    def _cancel(waiting: list[tuple[AuditRecord, asyncio.Future[None]]]) -> None:
        """The writer itself was cancelled (shutdown): nothing waits forever."""
        for _, done in waiting:
            done.cancel()


__all__ = ["MAX_BATCH", "AuditAppender", "AuditWriter"]
