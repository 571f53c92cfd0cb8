"""Group-committed audit entries on a SQLite file, in one hop to a thread of their own.

``SqlBase.append_audit`` (the batches of ``service.AuditWriter``: the entries of
reads) through SQLAlchemy on aiosqlite takes about twenty round trips between the
event loop and aiosqlite's thread per batch (each statement opens, runs, fetches
and closes a cursor there), and SQLAlchemy's statement handling besides. Here a
batch is one call into a thread that owns one ``sqlite3`` connection and runs the
whole transaction: take the write lock, read the chain head, chain, insert, move
the head, commit. The SQL and the rows are those of ``audit_chain`` (same tables,
``entry_row``, the dialect's own time format), so both paths write one chain.

Only for a database file: an in-memory database is another database on every
connection, so it keeps the engine's path.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.compiler import SQLCompiler

from keystead.core.audit import GENESIS, AuditRecord, chain
from keystead.errors import Conflict, StoreUnavailable
from keystead.store.sql.audit_chain import entry_row
from keystead.store.sql.tables import audit, audit_heads

BUSY_TIMEOUT_MS = 30_000
"""As the engine's connections: wait this long for another writer's lock."""

_DIALECT = sqlite.dialect()
_TIME = audit.c.at.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)


class _Statement:
    """A statement compiled once for SQLite (qmark parameters), bound by name."""

    def __init__(self, statement: sa.ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
            raise TypeError("SQLite's compiler takes positional parameters")
        self.sql = str(compiled)
        self.order = tuple(compiled.positiontup)
        self._defaults = compiled.params  # the values written into the statement

    def params(self, **values: Any) -> tuple[Any, ...]:
        merged = {**self._defaults, **values}
        return tuple(merged[name] for name in self.order)


_INSERT = _Statement(audit.insert())
_HEAD_CREATE = _Statement(
    sqlite.insert(audit_heads)
    .values(workspace_id=sa.bindparam("ws"), seq=0, hash=GENESIS)
    .on_conflict_do_nothing()
)
_HEAD_READ = _Statement(
    sa.select(audit_heads.c.seq, audit_heads.c.hash).where(
        audit_heads.c.workspace_id == sa.bindparam("ws")
    )
)
_HEAD_MOVE = _Statement(
    audit_heads.update()
    .where(audit_heads.c.workspace_id == sa.bindparam("ws"))
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)


class SqliteAuditAppender:
    """Appends batches of audit records to the chain of a SQLite database file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keystead-audit")
        self._connection: sqlite3.Connection | None = None
        """Made, used and closed on the thread only."""

    async def append(self, records: Sequence[AuditRecord]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._append, list(records))

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    def _append(self, records: list[AuditRecord]) -> None:
        try:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")  # the write lock before the head is read
            try:
                ordered = sorted(records, key=lambda r: r.workspace_id)
                for workspace_id, group in groupby(ordered, key=lambda r: r.workspace_id):
                    _append_chain(connection, workspace_id, list(group))
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"the audit chain moved under this batch: {exc}") from None
        except (sqlite3.OperationalError, sqlite3.DatabaseError, OSError) as exc:
            self._close()  # a fresh connection next time
            raise StoreUnavailable(f"the sqlite store failed: {type(exc).__name__}") from exc

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(
                self._path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            self._connection = connection
        return self._connection

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _append_chain(
    connection: sqlite3.Connection, workspace_id: str, records: list[AuditRecord]
) -> None:
    connection.execute(_HEAD_CREATE.sql, _HEAD_CREATE.params(ws=workspace_id))
    head = connection.execute(_HEAD_READ.sql, _HEAD_READ.params(ws=workspace_id)).fetchone()
    seq, prev_hash = int(head[0]), str(head[1])
    rows = []
    for record in records:
        seq += 1
        entry = chain(record, seq, prev_hash)
        prev_hash = entry.hash
        rows.append(_row(entry_row(entry)))
    connection.executemany(_INSERT.sql, rows)
    moved = _HEAD_MOVE.params(ws=workspace_id, new_seq=seq, new_hash=prev_hash)
    connection.execute(_HEAD_MOVE.sql, moved)


def _row(values: dict[str, Any]) -> tuple[Any, ...]:
    values["at"] = _TIME(values["at"]) if _TIME is not None else values["at"]
    return tuple(values[name] for name in _INSERT.order)


__all__ = ["SqliteAuditAppender"]
