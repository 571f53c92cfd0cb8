"""Audit batches on MariaDB and MySQL (``audit_thread``): PyMySQL's blocking
connection on a thread of its own. A batch is one transaction: the workspace's head
created if missing, locked (``FOR UPDATE``) and read, the entries inserted (one
multi-row ``INSERT``: PyMySQL folds an ``executemany`` of one ``VALUES`` row into
it), the head moved, then COMMIT."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects import mysql

from keystead.store.sql.audit_chain import COLUMNS, chained_rows, entry_values
from keystead.store.sql.audit_thread import (
    AuditThread,
    Groups,
    PositionalStatement,
    chain_statements,
)
from keystead.store.sql.mysql import blocking_arguments

if TYPE_CHECKING:
    import pymysql

_DIALECT = mysql.dialect(paramstyle="format")


_STATEMENTS = chain_statements("mysql", lock=True)
_INSERT = PositionalStatement(_STATEMENTS.insert, _DIALECT)
_HEAD_CREATE = PositionalStatement(_STATEMENTS.head_create, _DIALECT)
_HEAD_LOCK = PositionalStatement(_STATEMENTS.head_read, _DIALECT)
_HEAD_MOVE = PositionalStatement(_STATEMENTS.head_move, _DIALECT)
if _INSERT.order != COLUMNS:
    raise RuntimeError("the compiled audit insert does not take audit_chain.COLUMNS in order")


def mysql_audit_appender(url: str) -> AuditThread[pymysql.Connection[Any]]:
    import pymysql

    def connect() -> pymysql.Connection[Any]:
        connection = pymysql.connect(**blocking_arguments(url), autocommit=False)
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        return connection

    return AuditThread(
        "mysql",
        connect,
        _write,
        _close,
        unavailable=(pymysql.OperationalError, pymysql.InterfaceError, OSError),
        conflict=(pymysql.IntegrityError,),
    )


def _write(connection: pymysql.Connection[Any], groups: Groups) -> None:
    try:
        with connection.cursor() as cursor:
            for ws, records in groups:
                cursor.execute(_HEAD_CREATE.sql, _HEAD_CREATE.params(ws=ws))
                cursor.execute(_HEAD_LOCK.sql, _HEAD_LOCK.params(ws=ws))
                seq, prev_hash = cursor.fetchone() or (None, None)
                if seq is None:  # created just above, in this transaction
                    raise RuntimeError(f"no audit head for workspace {ws}")
                rows, seq, prev_hash = chained_rows(records, int(seq), str(prev_hash), entry_values)
                cursor.executemany(_INSERT.sql, rows)
                cursor.execute(
                    _HEAD_MOVE.sql, _HEAD_MOVE.params(ws=ws, new_seq=seq, new_hash=prev_hash)
                )
    except BaseException:
        connection.rollback()
        raise
    connection.commit()


def _close(connection: pymysql.Connection[Any]) -> None:
    connection.close()


__all__ = ["mysql_audit_appender"]
