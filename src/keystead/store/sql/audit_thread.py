"""Group-committed audit batches written by a thread with a connection of its own.

``SqlBase.append_audit`` (the batches of ``service.AuditWriter``: the entries of
reads) through SQLAlchemy's asyncio layer costs a round trip between the event loop
and the driver per statement and SQLAlchemy's statement handling besides; on
aiosqlite about twenty hops to its thread per batch. Here a batch is ONE call into
a thread that owns one DB-API connection and runs the whole transaction: take the
head's lock, read it, chain, insert, move the head, commit. The driver modules
(``audit_sqlite``, ``audit_postgres``) supply the connection and the statements,
compiled from the same tables; the rows are ``audit_chain``'s, so both paths write
one chain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from typing import Generic, TypeVar

from keystead.core.audit import AuditRecord
from keystead.errors import Conflict, StoreUnavailable

C = TypeVar("C")
Groups = list[tuple[str, list[AuditRecord]]]
"""The batch's records by workspace, in workspace order (heads are locked in that
order, as ``audit_chain.append_records`` does)."""


class AuditThread(Generic[C]):
    def __init__(
        self,
        dialect: str,
        connect: Callable[[], C],
        write: Callable[[C, Groups], None],
        close: Callable[[C], None],
        *,
        unavailable: tuple[type[BaseException], ...],
        conflict: tuple[type[BaseException], ...],
    ) -> None:
        self._dialect = dialect
        self._connect, self._write, self._close_connection = connect, write, close
        self._unavailable, self._conflict = unavailable, conflict
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keystead-audit")
        self._connection: C | None = None
        """Made, used and closed on the thread only."""

    async def append(self, records: Sequence[AuditRecord]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._append, list(records))

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._drop)
        self._thread.shutdown(wait=True)

    def _append(self, records: list[AuditRecord]) -> None:
        ordered = sorted(records, key=lambda r: r.workspace_id)
        groups = [(ws, list(group)) for ws, group in groupby(ordered, lambda r: r.workspace_id)]
        try:
            if self._connection is None:
                self._connection = self._connect()
            self._write(self._connection, groups)
        except self._conflict as exc:
            raise Conflict(f"the audit chain moved under this batch: {exc}") from None
        except self._unavailable as exc:
            self._drop()  # a fresh connection next time
            raise StoreUnavailable(
                f"the {self._dialect} store failed: {type(exc).__name__}"
            ) from exc

    def _drop(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                self._close_connection(connection)
            except self._unavailable:
                pass  # already broken: nothing to close


__all__ = ["AuditThread", "Groups"]
