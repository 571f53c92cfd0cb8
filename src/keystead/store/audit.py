"""The audit log's part of the store protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from keystead.core.audit import AuditEntry, AuditRecord, Checkpoint


@dataclass(slots=True, frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditStore(Protocol):
    on_audit: Callable[[Sequence[AuditRecord]], None] | None
    """Called with the audit records of each committed transaction (exports)."""

    async def list_audit(
        self, workspace_id: str, where: AuditFilter, *, before: int | None, limit: int
    ) -> list[AuditEntry]:
        """Newest first; ``before`` is an exclusive seq cursor."""
        ...

    async def audit_entries(self, workspace_id: str, *, after: int, limit: int) -> list[AuditEntry]:
        """Oldest first, seq > ``after``: the whole chain, in batches."""
        ...

    async def audit_head(self, workspace_id: str) -> tuple[int, str] | None: ...
    async def audit_heads(self) -> list[tuple[str, int, str]]: ...
    async def list_audit_checkpoints(self, workspace_id: str) -> list[Checkpoint]: ...
    async def insert_audit_checkpoint(self, checkpoint: Checkpoint) -> None: ...


__all__ = ["AuditFilter", "AuditStore"]
