"""The audit log: list with filters, verify the chain, export it, and write
signed checkpoints (``Keystead.audit``). Entries are appended by the store in
the transaction of each change (``ServiceContext.audit``, ``events.audit``)."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from keystead.core.audit import AuditEntry, AuditReport, Checkpoint
from keystead.core.audit_signing import (
    public_pem,
    public_raw_b64,
    sign,
    signature_ok,
    signing_key,
)
from keystead.core.audit_verify import ChainVerifier
from keystead.core.authz import Principal
from keystead.errors import Forbidden, ValidationError
from keystead.service import fields
from keystead.service.context import ServiceContext
from keystead.store.audit import AuditFilter, AuditSnapshot

VERIFY_PAGE = 5000
"""Entries (and checkpoints) read per query by ``verify``."""


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

    async def export(
        self, principal: Principal, *, page_size: int = VERIFY_PAGE
    ) -> AsyncIterator[AuditEntry]:
        """The whole chain of the principal's workspace, oldest first, read in
        pages from one snapshot: entries appended meanwhile are not part of it,
        so an export is always a prefix of the chain that ``verify`` accepts."""
        _require(principal)
        if not isinstance(page_size, int) or page_size < 1:
            raise ValidationError("page_size is a positive number", field="page_size")
        async with self._ctx.store.audit_snapshot(principal.workspace_id) as snapshot:
            async for page in _pages(snapshot, page_size):
                for entry in page:
                    yield entry

    async def verify(self, principal: Principal, *, page_size: int = VERIFY_PAGE) -> AuditReport:
        """Check every entry's hash and link, the head and the signed checkpoints.
        The chain is read from one snapshot in pages of ``page_size`` entries,
        so memory stays bounded whatever its length (``core.audit_verify``)."""
        _require(principal)
        if not isinstance(page_size, int) or page_size < 1:
            raise ValidationError("page_size is a positive number", field="page_size")
        workspace_id = principal.workspace_id
        async with self._ctx.store.audit_snapshot(workspace_id) as snapshot:
            verifier = ChainVerifier(workspace_id, head=await snapshot.head())
            checkpoints = _Checkpoints(snapshot, page_size, self._public)
            async for page in _pages(snapshot, page_size):
                verifier.add_entries(page)
                while batch := await checkpoints.through(page[-1].seq):
                    verifier.add_checkpoints(batch)
            verifier.end_entries()
            while batch := await checkpoints.through(None):
                verifier.add_checkpoints(batch)
            if verifier.wanted():  # a break whose kind depends on a distant entry
                async for page in _pages(snapshot, page_size):
                    verifier.locate(page)
        return verifier.finish()

    async def checkpoint(self, principal: Principal | None = None) -> builtins.list[Checkpoint]:
        """Sign the head of every chain that moved since its last checkpoint
        (only the principal's workspace when given). Returns the new ones."""
        if principal is not None:
            _require(principal)
        written: builtins.list[Checkpoint] = []
        for workspace_id, seq, head_hash in await self._ctx.store.audit_heads():
            if principal is not None and workspace_id != principal.workspace_id:
                continue
            last = await self._ctx.store.latest_audit_checkpoint(workspace_id)
            if seq == 0 or (last is not None and last.seq >= seq):
                continue
            unsigned = Checkpoint(workspace_id, seq, head_hash, self._ctx.now())
            signed = Checkpoint(
                workspace_id, seq, head_hash, unsigned.at, sign(self._key, unsigned)
            )
            await self._ctx.store.insert_audit_checkpoint(signed)
            written.append(signed)
        return written


async def _pages(snapshot: AuditSnapshot, page_size: int) -> AsyncIterator[list[AuditEntry]]:
    """The chain, oldest first, ``page_size`` entries at a time (keyset by seq)."""
    after = 0
    while True:
        page = await snapshot.entries(after=after, limit=page_size)
        if page:
            yield page
            after = page[-1].seq
        if len(page) < page_size:
            return


class _Checkpoints:
    """A snapshot's checkpoints, read a page at a time and handed out in seq
    order up to the seq the entries have reached."""

    def __init__(self, snapshot: AuditSnapshot, page_size: int, public: Ed25519PublicKey) -> None:
        self._snapshot = snapshot
        self._page_size = page_size
        self._public = public
        self._waiting: builtins.list[Checkpoint] = []
        self._after = 0
        self._done = False

    async def through(self, seq: int | None) -> builtins.list[tuple[Checkpoint, bool]]:
        """The next ones at or below ``seq`` (any, when None), each with whether
        its signature verifies; empty when there are no more."""
        if not self._waiting and not self._done:
            self._waiting = await self._snapshot.checkpoints(
                after=self._after, limit=self._page_size
            )
            self._done = len(self._waiting) < self._page_size
            if self._waiting:
                self._after = self._waiting[-1].seq
        ready = len(self._waiting)
        if seq is not None:
            ready = next((i for i, c in enumerate(self._waiting) if c.seq > seq), ready)
        given, self._waiting = self._waiting[:ready], self._waiting[ready:]
        return [(c, signature_ok(self._public, c)) for c in given]


def _require(principal: Principal) -> None:
    principal.require("audit.read")
    if principal.api_ids is not None or principal.owner_id is not None:
        raise Forbidden("the audit log spans the workspace: use a root key not narrowed")


__all__ = ["AuditPage", "AuditService"]
