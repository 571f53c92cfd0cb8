"""Reading the audit chain, its heads and checkpoints (appending happens in
``audit_chain``, inside every management transaction)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from keystead.core.audit import AuditEntry, AuditRecord, Checkpoint
from keystead.store.audit import AuditFilter
from keystead.store.sql.base import SqlBase
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
        stmt = (
            sa.select(audit)
            .where(audit.c.workspace_id == workspace_id, audit.c.seq > after)
            .order_by(audit.c.seq)
            .limit(limit)
        )
        return [_entry(r) for r in await self._all(stmt)]

    async def audit_head(self, workspace_id: str) -> tuple[int, str] | None:
        row = await self._one(
            sa.select(audit_heads.c.seq, audit_heads.c.hash).where(
                audit_heads.c.workspace_id == workspace_id
            )
        )
        return None if row is None else (int(row.seq), str(row.hash))

    async def audit_heads(self) -> list[tuple[str, int, str]]:
        rows = await self._all(sa.select(audit_heads).order_by(audit_heads.c.workspace_id))
        return [(r.workspace_id, int(r.seq), str(r.hash)) for r in rows]

    async def list_audit_checkpoints(self, workspace_id: str) -> list[Checkpoint]:
        rows = await self._all(
            sa.select(audit_checkpoints)
            .where(audit_checkpoints.c.workspace_id == workspace_id)
            .order_by(audit_checkpoints.c.seq)
        )
        return [Checkpoint(r.workspace_id, int(r.seq), r.hash, r.at, r.signature) for r in rows]

    async def insert_audit_checkpoint(self, checkpoint: Checkpoint) -> None:
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        async with self._tx() as c:
            await c.execute(
                dialect.insert(audit_checkpoints)
                .values(
                    workspace_id=checkpoint.workspace_id,
                    seq=checkpoint.seq,
                    hash=checkpoint.hash,
                    at=checkpoint.at,
                    signature=checkpoint.signature,
                )
                .on_conflict_do_nothing()
            )


__all__ = ["AuditQueries"]
