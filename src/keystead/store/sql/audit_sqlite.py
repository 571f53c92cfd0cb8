"""Audit batches on a SQLite file (``audit_thread``): ``sqlite3`` on a thread of its
own, the write lock taken before the head is read (``BEGIN IMMEDIATE``).

Only for a database file: an in-memory database is another database on every
connection, so it keeps the engine's path.
"""

from __future__ import annotations

import functools
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.dialects import sqlite

from keystead.core.audit import AuditEntry
from keystead.store.sql.audit_chain import COLUMNS, chained_rows, entry_values
from keystead.store.sql.audit_thread import (
    AuditThread,
    Groups,
    PositionalStatement,
    chain_statements,
)

BUSY_TIMEOUT_MS = 30_000
"""As the engine's connections: wait this long for another writer's lock."""
ROWS_PER_INSERT = 64
"""Entries per multi-row ``INSERT``: ``executemany`` steps SQLite once per row and
releases the GIL each time, a thread switch per entry while the server waits for
it; 64 rows of 14 columns stay far below SQLite's 32,766 parameters."""

_DIALECT = sqlite.dialect()


_STATEMENTS = chain_statements("sqlite", lock=False)  # BEGIN IMMEDIATE locks
_INSERT = PositionalStatement(_STATEMENTS.insert, _DIALECT)
_HEAD_CREATE = PositionalStatement(_STATEMENTS.head_create, _DIALECT)
_HEAD_READ = PositionalStatement(_STATEMENTS.head_read, _DIALECT)
_HEAD_MOVE = PositionalStatement(_STATEMENTS.head_move, _DIALECT)
if _INSERT.order != COLUMNS:
    raise RuntimeError("the compiled audit insert does not take audit_chain.COLUMNS in order")


@functools.lru_cache(maxsize=ROWS_PER_INSERT)
def _insert_rows(count: int) -> str:
    """The compiled single-row insert with ``count`` rows of parameters."""
    head, _, row = _INSERT.sql.partition(" VALUES ")
    return head + " VALUES " + ", ".join([row] * count)


def sqlite_audit_appender(path: Path) -> AuditThread[sqlite3.Connection]:
    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    return AuditThread(
        "sqlite",
        connect,
        _write,
        sqlite3.Connection.close,
        unavailable=(sqlite3.OperationalError, sqlite3.DatabaseError, OSError),
        conflict=(sqlite3.IntegrityError,),
    )


def _write(connection: sqlite3.Connection, groups: Groups) -> None:
    connection.execute("BEGIN IMMEDIATE")  # the write lock before the head is read
    try:
        for workspace_id, records in groups:
            connection.execute(_HEAD_CREATE.sql, _HEAD_CREATE.params(ws=workspace_id))
            head = connection.execute(_HEAD_READ.sql, _HEAD_READ.params(ws=workspace_id))
            seq, prev_hash = head.fetchone()
            values, seq, prev_hash = chained_rows(records, int(seq), str(prev_hash), _row)
            for start in range(0, len(values), ROWS_PER_INSERT):
                chunk = values[start : start + ROWS_PER_INSERT]
                connection.execute(_insert_rows(len(chunk)), [v for row in chunk for v in row])
            moved = _HEAD_MOVE.params(ws=workspace_id, new_seq=seq, new_hash=prev_hash)
            connection.execute(_HEAD_MOVE.sql, moved)
    except BaseException:
        connection.rollback()
        raise
    connection.commit()


def _row(entry: AuditEntry) -> tuple[Any, ...]:
    """The insert's parameters: the entry's values, its time as SQLAlchemy stores it."""
    values = entry_values(entry)
    return (*values[:3], sqlite_time(values[3]), *values[4:])


def sqlite_time(moment: datetime) -> str:
    """The text SQLAlchemy's SQLite ``DATETIME`` stores (its fields as they are,
    microseconds always), by ``isoformat``: a third of the cost."""
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


__all__ = ["BUSY_TIMEOUT_MS", "sqlite_audit_appender", "sqlite_time"]
