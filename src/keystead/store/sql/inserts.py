"""INSERTs that meet an existing row, in each dialect's words: ``ON CONFLICT`` on
PostgreSQL and SQLite, ``INSERT IGNORE`` / ``ON DUPLICATE KEY UPDATE`` on MariaDB
and MySQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

NewRow = Any
"""The row an INSERT proposed, as the update may read it (``excluded.<name>`` on
PostgreSQL and SQLite, ``VALUES(<name>)`` on MariaDB)."""


def insert_new(table: sa.Table, dialect: str) -> sa.Insert:
    """An INSERT that skips the rows whose unique key is taken (the result's
    ``rowcount`` counts only the rows inserted). On MariaDB ``INSERT IGNORE``: it
    would also turn a missing foreign key into a skipped row, which is what the
    callers (heads, checkpoints, rollups, notices) make of a conflict anyway."""
    if dialect == "mysql":
        return sa.insert(table).prefix_with("IGNORE")
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def insert_to_lock(table: sa.Table, dialect: str) -> sa.Insert:
    """``insert_new`` for a row that is then locked (``SELECT ... FOR UPDATE``). On
    MariaDB ``INSERT IGNORE`` takes a shared lock on the row it meets, and two
    transactions that both hold it and then ask for the exclusive one deadlock: so
    ``ON DUPLICATE KEY UPDATE`` of the first key column to itself, which takes the
    exclusive lock at once and changes nothing."""
    if dialect != "mysql":
        return insert_new(table, dialect)
    first = next(iter(table.primary_key.columns))
    return mysql.insert(table).on_duplicate_key_update({first.name: first})


def upsert(
    table: sa.Table,
    dialect: str,
    key: Sequence[sa.Column[Any]],
    changes: Callable[[NewRow], Mapping[str, Any]],
) -> sa.Insert:
    """An INSERT that, where the row of ``key`` exists, sets ``changes(new)``
    instead. On MariaDB every unique key counts, not only ``key``; and the
    assignments run in order, each seeing the ones before, so ``changes`` must
    not read a column it has already set."""
    if dialect == "mysql":
        stmt = mysql.insert(table)
        return stmt.on_duplicate_key_update(dict(changes(stmt.inserted)))
    if dialect == "postgresql":
        pg = postgresql.insert(table)
        return pg.on_conflict_do_update(index_elements=key, set_=changes(pg.excluded))
    lite = sqlite.insert(table)
    return lite.on_conflict_do_update(index_elements=key, set_=changes(lite.excluded))


__all__ = ["insert_new", "insert_to_lock", "upsert"]
