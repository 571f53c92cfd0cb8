"""Which tables a backup holds, in foreign-key order, which rows of each (the
whole store or one workspace's), and each column's value in the archive's row
stream: driven by the table definitions, so a new table is backed up with no
change here (or, when it cannot tell whose rows it holds, a test says so)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from keystead.errors import IntegrityError
from keystead.store.sql.engine import json_loads
from keystead.store.sql.tables import NullableJson, metadata, settings, usage

SETTINGS_TABLE = settings.name
USAGE_TABLE = usage.name
"""Raw usage records: in a backup only when asked (their rollups always are)."""
WHOLE_IN_WORKSPACE = frozenset({SETTINGS_TABLE, "ks_server_secret_versions"})
"""Kept whole in a workspace's backup: the store's checks (the server secret's
fingerprint, the master key's check) that a restore and the service open with, and
the server secret's versions (sealed), which the workspace's key hashes are under."""
MACHINE_ONLY = frozenset({"ks_leases"})
"""This deployment's scheduler leases: no workspace's, left out of its backup."""

JSON, BYTES, TIME, VALUE = "json", "bytes", "time", "value"


def column_kind(column: sa.Column[Any]) -> str:
    """How a column's values travel: JSON as its stored text (so JSON null and
    SQL NULL stay apart), bytes in base64, times in UTC ISO 8601, others as they are."""
    kind = column.type
    if isinstance(kind, sa.JSON):
        return JSON
    if isinstance(kind, sa.LargeBinary):
        return BYTES
    if isinstance(kind, sa.DateTime):
        return TIME
    return VALUE


@dataclass(frozen=True, slots=True)
class Part:
    """One table of a backup and the condition that picks its rows (None: all)."""

    table: sa.Table
    where: sa.ColumnElement[bool] | None

    @property
    def columns(self) -> list[tuple[str, str]]:
        return [(c.name, column_kind(c)) for c in self.table.columns]

    def select(self) -> sa.Select[Any]:
        chosen = [
            sa.cast(c, sa.Text).label(c.name) if column_kind(c) == JSON else c
            for c in self.table.columns
        ]
        stmt = sa.select(*chosen)
        if self.where is not None:
            stmt = stmt.where(self.where)
        return stmt.order_by(*self.table.primary_key.columns)

    def count(self) -> sa.Select[Any]:
        stmt = sa.select(sa.func.count()).select_from(self.table)
        return stmt if self.where is None else stmt.where(self.where)


def parts(workspace_id: str | None, *, with_usage: bool) -> list[Part]:
    """The tables of a backup in foreign-key order (parents first), the settings
    first of all: a restore checks the server secret and master key on them."""
    found = []
    for table in sorted(metadata.sorted_tables, key=lambda t: t.name != SETTINGS_TABLE):
        if table.name == USAGE_TABLE and not with_usage:
            continue
        if workspace_id is None:
            found.append(Part(table, None))
        elif table.name not in MACHINE_ONLY:
            found.append(Part(table, workspace_condition(table, workspace_id)))
    return found


def workspace_condition(table: sa.Table, workspace_id: str) -> sa.ColumnElement[bool] | None:
    """The rows of ``table`` that belong to the workspace: by its own
    ``workspace_id``, else through a foreign key to a table that has one."""
    if table.name == "ks_workspaces":
        return table.c.id == workspace_id
    if "workspace_id" in table.c:
        return table.c.workspace_id == workspace_id
    if table.name in WHOLE_IN_WORKSPACE:
        return None
    for fk in sorted(table.foreign_keys, key=lambda fk: fk.parent.name):
        parent = fk.column.table
        if parent.name in WHOLE_IN_WORKSPACE or parent.name in MACHINE_ONLY:
            continue
        condition = workspace_condition(parent, workspace_id)
        if condition is not None:
            return fk.parent.in_(sa.select(fk.column).where(condition))
    raise LookupError(f"{table.name}: no way to tell which workspace a row belongs to")


def encode(kind: str, value: Any) -> Any:
    """A column value as it goes into the row stream (JSON)."""
    if value is None or kind in (VALUE, JSON):
        return value
    if kind == BYTES:
        return base64.b64encode(bytes(value)).decode("ascii")
    stamp: datetime = value  # TIME; SQLite hands back naive UTC
    stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
    return stamp.isoformat()


def decode(kind: str, value: Any) -> Any:
    """A row stream value as it is inserted (``insert_table``'s column types)."""
    try:
        if value is None or kind == VALUE:
            return value
        if kind == JSON:
            loaded = json_loads(value)
            return sa.JSON.NULL if loaded is None else loaded
        if kind == BYTES:
            return base64.b64decode(value, validate=True)
        if kind == TIME:
            return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise IntegrityError(f"the backup holds a malformed {kind} value") from None
    raise IntegrityError(f"the backup names an unknown column kind {kind!r}")


def insert_table(name: str, columns: list[tuple[str, str]]) -> sa.TableClause:
    """A table to insert the archive's columns of ``name`` with: this schema's
    column types, and JSON where None is SQL NULL (``decode`` sends JSON null
    as ``JSON.NULL``)."""
    table = metadata.tables.get(name)
    if table is None:
        raise IntegrityError(f"the backup holds a table this Keystead does not know: {name}")
    chosen = []
    for column, kind in columns:
        if column not in table.c:
            raise IntegrityError(
                f"the backup holds a column this Keystead does not know: {name}.{column}"
            )
        chosen.append(sa.column(column, NullableJson if kind == JSON else table.c[column].type))
    return sa.table(name, *chosen)


__all__ = [
    "BYTES",
    "JSON",
    "MACHINE_ONLY",
    "SETTINGS_TABLE",
    "TIME",
    "USAGE_TABLE",
    "VALUE",
    "WHOLE_IN_WORKSPACE",
    "Part",
    "column_kind",
    "decode",
    "encode",
    "insert_table",
    "parts",
    "workspace_condition",
]
