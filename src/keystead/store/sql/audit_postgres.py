"""Audit batches on PostgreSQL (``audit_thread``): psycopg's blocking connection on a
thread of its own, one transaction per batch, the head's row locked (``FOR UPDATE``)
before it is read, the rows sent with ``executemany`` (pipelined by psycopg)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from keystead.store.sql.audit_chain import chained_rows
from keystead.store.sql.audit_thread import AuditThread, Groups, chain_statements

if TYPE_CHECKING:
    import psycopg

_DIALECT: sa.Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]


class _Statement:
    """A statement compiled once for psycopg (named parameters)."""

    def __init__(self, statement: sa.ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = str(compiled)
        self._defaults = compiled.params  # the values written into the statement

    def params(self, **values: Any) -> dict[str, Any]:
        return {**self._defaults, **values}


_STATEMENTS = chain_statements(postgresql.insert, lock=True)
_INSERT = _Statement(_STATEMENTS.insert)
_HEAD_CREATE = _Statement(_STATEMENTS.head_create)
_HEAD_LOCK = _Statement(_STATEMENTS.head_read)
_HEAD_MOVE = _Statement(_STATEMENTS.head_move)


def postgres_audit_appender(url: str) -> AuditThread[psycopg.Connection[Any]]:
    import psycopg

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(conninfo, autocommit=True)

    return AuditThread(
        "postgresql",
        connect,
        _write,
        psycopg.Connection.close,
        unavailable=(psycopg.OperationalError, psycopg.InterfaceError, OSError),
        conflict=(psycopg.IntegrityError,),
    )


def _write(connection: psycopg.Connection[Any], groups: Groups) -> None:
    with connection.transaction(), connection.cursor() as cursor:
        for workspace_id, records in groups:
            cursor.execute(_HEAD_CREATE.sql, _HEAD_CREATE.params(ws=workspace_id))
            cursor.execute(_HEAD_LOCK.sql, _HEAD_LOCK.params(ws=workspace_id))
            head = cursor.fetchone()
            if head is None:  # created just above, under this transaction
                raise RuntimeError(f"no audit head for workspace {workspace_id}")
            rows, seq, prev_hash = chained_rows(records, int(head[0]), str(head[1]))
            cursor.executemany(_INSERT.sql, rows)
            moved = _HEAD_MOVE.params(ws=workspace_id, new_seq=seq, new_hash=prev_hash)
            cursor.execute(_HEAD_MOVE.sql, moved)


__all__ = ["postgres_audit_appender"]
