"""Reading the audit chain, its heads and checkpoints (appending happens in
``audit_chain``, inside every management transaction).

Its methods restate ``store.audit.AuditStore``: the protocol other backends implement too.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.core.audit import AuditEntry, AuditRecord, Checkpoint
from keystead.store.audit import AuditFilter
from keystead.store.sql.base import SqlBase
from keystead.store.sql.inserts import insert_new
from keystead.store.sql.tables import audit, audit_checkpoints, audit_heads


def _entry(row: Any) -> AuditEntry:
    try:
        changes = json.loads(row.changes)
    except ValueError:
        changes = {"unreadable": str(row.changes)}
    record = AuditRecord(
        id=row.id,
        workspace_id=row.workspace_id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        changes=changes if isinstance(changes, dict) else {"unreadable": changes},
        ip=row.ip,
        user_agent=row.user_agent,
        request_id=row.request_id,
    )
    return AuditEntry(record, int(row.seq), row.prev_hash, row.hash)


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(row.workspace_id, int(row.seq), row.hash, row.at, row.signature)


def _entries_after(workspace_id: str, after: int, limit: int) -> sa.Select[Any]:
    return (
        sa.select(audit)
        .where(audit.c.workspace_id == workspace_id, audit.c.seq > after)
        .order_by(audit.c.seq)
        .limit(limit)
    )


def _head_of(workspace_id: str) -> sa.Select[Any]:
    return sa.select(audit_heads.c.seq, audit_heads.c.hash).where(
        audit_heads.c.workspace_id == workspace_id
    )


def _checkpoints_after(workspace_id: str, after: int, limit: int) -> sa.Select[Any]:
    return (
        sa.select(audit_checkpoints)
        .where(audit_checkpoints.c.workspace_id == workspace_id, audit_checkpoints.c.seq > after)
        .order_by(audit_checkpoints.c.seq)
        .limit(limit)
    )


class SqlAuditSnapshot:
    """The reads of ``AuditSnapshot`` on one connection, in one transaction."""

    def __init__(self, connection: AsyncConnection, workspace_id: str) -> None:
        self._connection = connection
        self._workspace_id = workspace_id

    async def head(self) -> tuple[int, str] | None:
        row = (await self._connection.execute(_head_of(self._workspace_id))).first()
        return None if row is None else (int(row.seq), str(row.hash))

    async def entries(self, *, after: int, limit: int) -> list[AuditEntry]:
        found = await self._connection.execute(_entries_after(self._workspace_id, after, limit))
        return [_entry(r) for r in found]

    async def checkpoints(self, *, after: int, limit: int) -> list[Checkpoint]:
        stmt = _checkpoints_after(self._workspace_id, after, limit)
        return [_checkpoint(r) for r in await self._connection.execute(stmt)]


class AuditQueries(SqlBase):
    async def list_audit(
        self, workspace_id: str, where: AuditFilter, *, before: int | None, limit: int
    ) -> list[AuditEntry]:
        stmt = sa.select(audit).where(audit.c.workspace_id == workspace_id)
        if before is not None:
            stmt = stmt.where(audit.c.seq < before)
        if where.actor is not None:
            stmt = stmt.where(audit.c.actor == where.actor)
        if where.action is not None:
            if where.action.endswith("*"):
                stmt = stmt.where(audit.c.action.startswith(where.action[:-1], autoescape=True))
            else:
                stmt = stmt.where(audit.c.action == where.action)
        if where.target_id is not None:
            stmt = stmt.where(audit.c.target_id == where.target_id)
        if where.since is not None:
            stmt = stmt.where(audit.c.at >= where.since)
        if where.until is not None:
            stmt = stmt.where(audit.c.at < where.until)
        rows = await self._all(stmt.order_by(audit.c.seq.desc()).limit(limit))
        return [_entry(r) for r in rows]

    async def audit_entries(self, workspace_id: str, *, after: int, limit: int) -> list[AuditEntry]:
        return [_entry(r) for r in await self._all(_entries_after(workspace_id, after, limit))]

    async def audit_head(self, workspace_id: str) -> tuple[int, str] | None:
        row = await self._one(_head_of(workspace_id))
        return None if row is None else (int(row.seq), str(row.hash))

    async def audit_heads(self) -> list[tuple[str, int, str]]:
        rows = await self._all(sa.select(audit_heads).order_by(audit_heads.c.workspace_id))
        return [(r.workspace_id, int(r.seq), str(r.hash)) for r in rows]

    async def latest_audit_checkpoint(self, workspace_id: str) -> Checkpoint | None:
        row = await self._one(
            sa.select(audit_checkpoints)
            .where(audit_checkpoints.c.workspace_id == workspace_id)
            .order_by(audit_checkpoints.c.seq.desc())
            .limit(1)
        )
        return None if row is None else _checkpoint(row)

    @asynccontextmanager
    async def audit_snapshot(self, workspace_id: str) -> AsyncIterator[SqlAuditSnapshot]:
        """REPEATABLE READ on PostgreSQL and MariaDB; on SQLite an explicit BEGIN (the
        driver starts none for reads), so every read sees the same WAL snapshot."""
        async with self._errors(), self._engine.connect() as connection:
            if self.dialect in ("postgresql", "mysql"):
                await connection.execution_options(isolation_level="REPEATABLE READ")
            else:
                await connection.exec_driver_sql("BEGIN")
            try:
                yield SqlAuditSnapshot(connection, workspace_id)
            finally:
                await connection.rollback()

    async def insert_audit_checkpoint(self, checkpoint: Checkpoint) -> None:
        async with self._tx() as c:
            await c.execute(
                insert_new(audit_checkpoints, self.dialect).values(
                    workspace_id=checkpoint.workspace_id,
                    seq=checkpoint.seq,
                    hash=checkpoint.hash,
                    at=checkpoint.at,
                    signature=checkpoint.signature,
                )
            )


__all__ = ["AuditQueries", "SqlAuditSnapshot"]
