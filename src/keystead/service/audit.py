"""The audit log: list with filters, verify the chain, export it, and write
signed checkpoints (``Keystead.audit``). Entries are appended by the store in
the transaction of each change (``ServiceContext.audit``, ``events.audit``)."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from dataclasses import dataclass

from keystead.core.audit import AuditEntry, AuditReport, Checkpoint, verify_chain
from keystead.core.audit_signing import (
    public_pem,
    public_raw_b64,
    sign,
    signature_ok,
    signing_key,
)
from keystead.core.authz import Principal
from keystead.errors import Forbidden, ValidationError
from keystead.service import fields
from keystead.service.context import ServiceContext
from keystead.store.audit import AuditFilter

_BATCH = 1000


@dataclass(slots=True, frozen=True)
class AuditPage:
    items: list[AuditEntry]
    next_cursor: str | None


class AuditService:
    def __init__(self, ctx: ServiceContext, secret: bytes) -> None:
        self._ctx = ctx
        self._key = signing_key(secret)
        self._public = self._key.public_key()

    @property
    def public_key(self) -> str:
        """The raw Ed25519 public key checkpoints verify with, base64."""
        return public_raw_b64(self._public)

    @property
    def public_key_pem(self) -> str:
        return public_pem(self._public)

    async def verify_access(self, principal: Principal) -> None:
        """Raise unless ``principal`` may read the audit log."""
        _require(principal)

    async def list(
        self,
        principal: Principal,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: object = None,
        until: object = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> AuditPage:
        """Newest first. ``action`` may end in ``*`` (a prefix: ``key.*``)."""
        _require(principal)
        fields.page_size(limit)
        before = None
        if cursor is not None:
            if not isinstance(cursor, str) or not cursor.isdigit() or len(cursor) > 18:
                raise ValidationError("the cursor is not one this API handed out", field="cursor")
            before = int(cursor)
        where = AuditFilter(
            actor=fields.text(actor, "actor"),
            action=fields.text(action, "action"),
            target_id=fields.text(target, "target"),
            since=fields.timestamp(since, "from"),
            until=fields.timestamp(until, "to"),
        )
        found = await self._ctx.store.list_audit(
            principal.workspace_id, where, before=before, limit=limit + 1
        )
        items = found[:limit]
        more = len(found) > limit
        return AuditPage(items, str(items[-1].seq) if more and items else None)

    async def export(self, principal: Principal) -> AsyncIterator[AuditEntry]:
        """The whole chain of the principal's workspace, oldest first."""
        _require(principal)
        async for entry in self._entries(principal.workspace_id):
            yield entry

    async def verify(self, principal: Principal) -> AuditReport:
        """Check every entry's hash and link, the head and the signed checkpoints."""
        _require(principal)
        workspace_id = principal.workspace_id
        entries = [e async for e in self._entries(workspace_id)]
        head = await self._ctx.store.audit_head(workspace_id)
        checkpoints = await self._ctx.store.list_audit_checkpoints(workspace_id)
        return verify_chain(
            workspace_id,
            entries,
            head=head,
            checkpoints=[(c, signature_ok(self._public, c)) for c in checkpoints],
        )

    async def checkpoint(self, principal: Principal | None = None) -> builtins.list[Checkpoint]:
        """Sign the head of every chain that moved since its last checkpoint
        (only the principal's workspace when given). Returns the new ones."""
        if principal is not None:
            _require(principal)
        written: builtins.list[Checkpoint] = []
        for workspace_id, seq, head_hash in await self._ctx.store.audit_heads():
            if principal is not None and workspace_id != principal.workspace_id:
                continue
            last = await self._ctx.store.list_audit_checkpoints(workspace_id)
            if seq == 0 or (last and last[-1].seq >= seq):
                continue
            unsigned = Checkpoint(workspace_id, seq, head_hash, self._ctx.now())
            signed = Checkpoint(
                workspace_id, seq, head_hash, unsigned.at, sign(self._key, unsigned)
            )
            await self._ctx.store.insert_audit_checkpoint(signed)
            written.append(signed)
        return written

    async def _entries(self, workspace_id: str) -> AsyncIterator[AuditEntry]:
        after = 0
        while True:
            batch = await self._ctx.store.audit_entries(workspace_id, after=after, limit=_BATCH)
            for entry in batch:
                yield entry
            if len(batch) < _BATCH:
                return
            after = batch[-1].seq


def _require(principal: Principal) -> None:
    principal.require("audit.read")
    if principal.api_ids is not None or principal.owner_id is not None:
        raise Forbidden("the audit log spans the workspace: use a root key not narrowed")


__all__ = ["AuditPage", "AuditService"]
