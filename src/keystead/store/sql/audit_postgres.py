"""Audit batches on PostgreSQL (``audit_thread``): psycopg's blocking connection on a
thread of its own.

A batch is ONE statement, one round trip, where the thread knows the workspace's
chain head (it wrote the last entries itself): a data-modifying ``WITH`` moves the
head from the (seq, hash) the thread expects to the batch's last entry, and the
``INSERT`` adds the entries (from one JSON array, ``json_to_recordset``) only when
the head moved; one statement in autocommit mode is one transaction. When the head is
not where the thread expects (another node, or a change's transaction, appended
since; or the first batch), nothing is written and the batch goes the locked way: in
a transaction, the head's row locked (``FOR UPDATE``) and read, then the same
statement from there. The remembered head is a guess the statement checks, never
trusted. Several workspaces in a batch commit in one transaction either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from keystead.core.audit import AuditRecord
from keystead.store.sql.audit_chain import chained_rows, entry_row
from keystead.store.sql.audit_thread import AuditThread, Groups, chain_statements
from keystead.store.sql.tables import audit, audit_heads

if TYPE_CHECKING:
    import psycopg

_DIALECT: sa.Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
_HEADS_KEPT = 10_000
"""Workspaces whose head the thread remembers at most (then it forgets them all)."""
Head = tuple[int, str]


class _Statement:
    """A statement compiled once for psycopg (named parameters)."""

    def __init__(self, statement: sa.ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = str(compiled)
        self._defaults = compiled.params  # the values written into the statement

    def params(self, **values: Any) -> dict[str, Any]:
        return {**self._defaults, **values}


_STATEMENTS = chain_statements("postgresql", lock=True)
_HEAD_CREATE = _Statement(_STATEMENTS.head_create)
_HEAD_LOCK = _Statement(_STATEMENTS.head_read)
_ENTRY_COLUMNS = tuple(c for c in audit.columns if c.name != "workspace_id")


def _append_sql() -> str:
    """Move the head from (``old_seq``, ``old_hash``) to (``new_seq``, ``new_hash``)
    and, only when it moved, insert the entries (``rows``: one JSON array of their
    rows, which psycopg sends as one string: far cheaper than its arrays or an
    ``executemany``). Built from the tables' names: no value is ever formatted in."""
    fields = ", ".join(f"{c.name} {_type_of(c)}" for c in _ENTRY_COLUMNS)
    names = ", ".join(c.name for c in audit.columns)
    head = audit_heads.name
    return (
        f"WITH moved AS (UPDATE {head} SET seq = %(new_seq)s, hash = %(new_hash)s"  # noqa: S608
        f" WHERE workspace_id = %(ws)s AND seq = %(old_seq)s AND hash = %(old_hash)s"
        f" RETURNING 1)"
        f" INSERT INTO {audit.name} ({names})"
        f" SELECT %(ws)s, entry.* FROM json_to_recordset(%(rows)s::json) AS entry({fields})"
        f" WHERE EXISTS (SELECT FROM moved)"
    )


def _type_of(column: sa.Column[Any]) -> str:
    """Text for strings, so the insert still refuses a value too long (a cast to
    ``VARCHAR(n)`` would cut it)."""
    if isinstance(column.type, sa.String):
        return "TEXT"
    return str(column.type.compile(dialect=_DIALECT))


_APPEND = _append_sql()


class _Moved(Exception):
    """A workspace's head was not where the thread expected it."""


class PostgresAuditWriter:
    """Writes the batches of one connection, remembering each workspace's head."""

    def __init__(self) -> None:
        self.heads: dict[str, Head] = {}

    def __call__(self, connection: psycopg.Connection[Any], groups: Groups) -> None:
        if all(ws in self.heads for ws, _ in groups):
            try:
                if len(groups) == 1:
                    self._expected(connection, *groups[0])
                else:
                    with connection.transaction():
                        for ws, records in groups:
                            self._expected(connection, ws, records)
                return
            except _Moved:
                pass
        with connection.transaction():
            for ws, records in groups:
                connection.execute(_HEAD_CREATE.sql, _HEAD_CREATE.params(ws=ws))
                head = connection.execute(_HEAD_LOCK.sql, _HEAD_LOCK.params(ws=ws)).fetchone()
                if head is None:  # created just above, under this transaction
                    raise RuntimeError(f"no audit head for workspace {ws}")
                if not self._append(connection, ws, records, (int(head[0]), str(head[1]))):
                    raise RuntimeError(f"the audit head of {ws} moved under its lock")

    def _expected(
        self, connection: psycopg.Connection[Any], ws: str, records: list[AuditRecord]
    ) -> None:
        """Append after the head this thread knows, or raise ``_Moved``."""
        if not self._append(connection, ws, records, self.heads[ws]):
            raise _Moved(ws)

    def _append(
        self,
        connection: psycopg.Connection[Any],
        ws: str,
        records: list[AuditRecord],
        head: Head,
    ) -> bool:
        """Append after ``head``: False (nothing written) when it is not the head."""
        rows, seq, last_hash = chained_rows(records, *head, entry_row)
        params: dict[str, Any] = {
            "rows": orjson.dumps(rows).decode(),
            "ws": ws,
            "old_seq": head[0],
            "old_hash": head[1],
        }
        params |= {"new_seq": seq, "new_hash": last_hash}
        if connection.execute(_APPEND, params).rowcount != len(rows):
            self.heads.pop(ws, None)
            return False
        if len(self.heads) >= _HEADS_KEPT and ws not in self.heads:
            self.heads.clear()
        self.heads[ws] = (seq, last_hash)  # checked by the next append: a hint, never trusted
        return True


def postgres_audit_appender(url: str) -> AuditThread[psycopg.Connection[Any]]:
    import psycopg

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(conninfo, autocommit=True)

    return AuditThread(
        "postgresql",
        connect,
        PostgresAuditWriter(),
        psycopg.Connection.close,
        unavailable=(psycopg.OperationalError, psycopg.InterfaceError, OSError),
        conflict=(psycopg.IntegrityError,),
    )


__all__ = ["PostgresAuditWriter", "postgres_audit_appender"]
