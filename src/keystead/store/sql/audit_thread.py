"""Group-committed audit batches written by a thread with a connection of its own.

``SqlBase.append_audit`` (the batches of ``service.AuditWriter``: the entries of
reads) through SQLAlchemy's asyncio layer costs a round trip between the event loop
and the driver per statement and SQLAlchemy's statement handling besides; on
aiosqlite about twenty hops to its thread per batch. Here a batch is ONE call into
a thread that owns one DB-API connection and runs the whole transaction: take the
head's lock, read it, chain, insert, move the head, commit. The driver modules
(``audit_sqlite``, ``audit_postgres``, ``audit_mysql``) supply the connection and the statements,
compiled from the same tables; the rows are ``audit_chain``'s, so both paths write
one chain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from typing import Any, Generic, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

from keystead.core.audit import GENESIS, AuditRecord
from keystead.errors import Conflict, StoreUnavailable
from keystead.store.sql.inserts import insert_to_lock
from keystead.store.sql.tables import audit, audit_heads

C = TypeVar("C")
Groups = list[tuple[str, list[AuditRecord]]]
"""The batch's records by workspace, in workspace order (heads are locked in that
order, as ``audit_chain.append_records`` does)."""


class ChainStatements(NamedTuple):
    """The four statements of a batch, for a driver module to compile: the entries'
    insert, the head's creation, its read (locked where ``lock``) and its move.
    Parameters: ``ws``; ``new_seq`` and ``new_hash`` for the move."""

    insert: sa.ClauseElement
    head_create: sa.ClauseElement
    head_read: sa.ClauseElement
    head_move: sa.ClauseElement


def chain_statements(dialect: str, *, lock: bool) -> ChainStatements:
    """``dialect``: its name, for the head's creation (``inserts.insert_to_lock``)."""
    head = sa.select(audit_heads.c.seq, audit_heads.c.hash).where(
        audit_heads.c.workspace_id == sa.bindparam("ws")
    )
    return ChainStatements(
        audit.insert(),
        insert_to_lock(audit_heads, dialect).values(
            workspace_id=sa.bindparam("ws"), seq=0, hash=GENESIS
        ),
        head.with_for_update() if lock else head,
        audit_heads.update()
        .where(audit_heads.c.workspace_id == sa.bindparam("ws"))
        .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash")),
    )


class PositionalStatement:
    """A statement compiled once for a driver of positional parameters (SQLite's
    ``?``, PyMySQL's ``%s``), bound by name."""

    def __init__(self, statement: sa.ClauseElement, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
            raise TypeError(f"{dialect.name}'s compiler took no positional parameters")
        self.sql = str(compiled)
        self.order = tuple(compiled.positiontup)
        self._defaults = compiled.params  # the values written into the statement

    def params(self, **values: Any) -> tuple[Any, ...]:
        merged = {**self._defaults, **values}
        return tuple(merged[name] for name in self.order)


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
        self._thread: ThreadPoolExecutor | None = None
        """Started at the first batch; after ``close``, at the next one (as an engine
        makes new connections once disposed)."""
        self._connection: C | None = None
        """Made, used and closed on the thread only."""

    async def append(self, records: Sequence[AuditRecord]) -> None:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keystead-audit")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._append, list(records))

    async def close(self) -> None:
        """Close the connection and end the thread; closing twice is harmless."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(thread, self._drop)
        thread.shutdown(wait=True)

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


__all__ = ["AuditThread", "ChainStatements", "Groups", "PositionalStatement", "chain_statements"]
