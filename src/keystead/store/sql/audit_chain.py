"""Append pending audit records to their workspace's chain inside the caller's
transaction: lock the head row, chain, insert, move the head."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.core.audit import GENESIS, AuditEntry, AuditRecord, canonical_json, chain
from keystead.store.sql.inserts import insert_to_lock
from keystead.store.sql.tables import audit, audit_heads

_CHANGES = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
"""``json.dumps(changes, sort_keys=True, separators=...)``'s encoder, built once."""


def changes_text(changes: object) -> str:
    """``changes`` as stored: ``_CHANGES``'s text. The canonical JSON (cheaper) is the
    same text when it is ASCII without DEL (which ``ensure_ascii`` escapes, as it
    does every character past it)."""
    try:
        canonical = canonical_json(changes)
    except ValueError:  # NaN, which the stored text allows
        return _CHANGES.encode(changes)
    if canonical.isascii() and b"\x7f" not in canonical:
        return canonical.decode("ascii")
    return _CHANGES.encode(changes)


COLUMNS = (
    "workspace_id",
    "seq",
    "id",
    "at",
    "actor",
    "ip",
    "user_agent",
    "request_id",
    "action",
    "target_type",
    "target_id",
    "changes",
    "prev_hash",
    "hash",
)
"""``entry_values``' order: the table's."""
if COLUMNS != tuple(audit.c.keys()):
    raise RuntimeError("audit_chain.COLUMNS is not the order of ks_audit's columns")


def entry_values(entry: AuditEntry) -> tuple[Any, ...]:
    """An entry's row, in ``COLUMNS`` order."""
    r = entry.record
    return (
        r.workspace_id,
        entry.seq,
        r.id,
        r.at,
        r.actor,
        r.ip,
        r.user_agent,
        r.request_id,
        r.action,
        r.target_type,
        r.target_id,
        changes_text(r.changes),
        entry.prev_hash,
        entry.hash,
    )


def entry_row(entry: AuditEntry) -> dict[str, Any]:
    return dict(zip(COLUMNS, entry_values(entry), strict=True))


Row = TypeVar("Row")


def chained_rows(
    records: Sequence[AuditRecord],
    seq: int,
    prev_hash: str,
    row: Callable[[AuditEntry], Row],
) -> tuple[list[Row], int, str]:
    """``records`` chained after the head (``seq``, ``prev_hash``), as rows (made
    by ``row``); and the new head."""
    rows: list[Row] = []
    for record in records:
        seq += 1
        entry = chain(record, seq, prev_hash)
        prev_hash = entry.hash
        rows.append(row(entry))
    return rows, seq, prev_hash


async def append_records(connection: AsyncConnection, records: Sequence[AuditRecord]) -> None:
    """Chain ``records`` (grouped by workspace, heads locked in id order)."""
    ordered = sorted(records, key=lambda r: r.workspace_id)
    for workspace_id, group in groupby(ordered, key=lambda r: r.workspace_id):
        await _append(connection, workspace_id, list(group))


async def _append(
    connection: AsyncConnection, workspace_id: str, records: list[AuditRecord]
) -> None:
    # a write first: on SQLite it takes the write lock before the head is read
    await connection.execute(
        insert_to_lock(audit_heads, connection.dialect.name).values(
            workspace_id=workspace_id, seq=0, hash=GENESIS
        )
    )
    head = (
        await connection.execute(
            sa.select(audit_heads.c.seq, audit_heads.c.hash)
            .where(audit_heads.c.workspace_id == workspace_id)
            .with_for_update()
        )
    ).one()
    rows, seq, prev_hash = chained_rows(records, int(head.seq), str(head.hash), entry_row)
    await connection.execute(audit.insert(), rows)
    await connection.execute(
        audit_heads.update()
        .where(audit_heads.c.workspace_id == workspace_id)
        .values(seq=seq, hash=prev_hash)
    )


__all__ = ["COLUMNS", "append_records", "chained_rows", "changes_text", "entry_row", "entry_values"]
