"""The audit log's part of the store protocol.

``AuditStore`` is a protocol apart from the SQL code because it is part of ``Store``,
the one interface the service holds and a second backend implements.
tests/store/test_store_protocol.py holds ``SqlStore`` and ``SqlAuditSnapshot`` to
these, signature by signature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
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


class AuditSnapshot(Protocol):
    """Reads of one workspace's chain that all see the same moment, so changes
    committed meanwhile do not look like tampering."""

    async def head(self) -> tuple[int, str] | None: ...

    async def entries(self, *, after: int, limit: int) -> list[AuditEntry]:
        """Oldest first, seq > ``after``."""
        ...

    async def checkpoints(self, *, after: int, limit: int) -> list[Checkpoint]:
        """By seq, seq > ``after``."""
        ...


class AuditStore(Protocol):
    on_audit: Callable[[Sequence[AuditRecord]], None] | None
    """Called with the audit records of each committed transaction (exports)."""

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Append ``records`` to their workspaces' chains in one transaction, in
        their order (audit entries of reads; a change's entry commits with it)."""
        ...

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
    async def latest_audit_checkpoint(self, workspace_id: str) -> Checkpoint | None: ...
    async def insert_audit_checkpoint(self, checkpoint: Checkpoint) -> None: ...

    def audit_snapshot(self, workspace_id: str) -> AbstractAsyncContextManager[AuditSnapshot]:
        """One read-only transaction over ``workspace_id``'s chain (for verification)."""
        ...


__all__ = ["AuditFilter", "AuditSnapshot", "AuditStore"]
