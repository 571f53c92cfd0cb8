"""``/v1/audit``: the workspace's tamper-evident audit log (docs/audit.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from keystead.core.audit import entry_json, report_json
from keystead.http.auth import Auth, Service
from keystead.http.fieldtypes import PageSize
from keystead.http.routing import router as make_router

router = make_router(prefix="/v1/audit", tags=["audit"])


class AuditEntryOut(BaseModel):
    v: int
    workspace_id: str
    seq: int
    id: str
    at: str
    actor: str
    ip: str | None
    user_agent: str | None
    request_id: str | None
    action: str
    target_type: str
    target_id: str | None
    changes: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


class AuditBreakOut(BaseModel):
    kind: str
    seq: int
    detail: str


class AuditReportOut(BaseModel):
    workspace_id: str
    ok: bool
    entries: int
    head_seq: int
    checkpoints: int
    breaks: list[AuditBreakOut]
    breaks_omitted: int = Field(description="breaks found past the ones listed (at most 1000)")


class AuditPublicKeyOut(BaseModel):
    algorithm: str
    public_key: str
    pem: str


@router.get("", summary="List audit entries")
async def list_audit(
    ks: Service,
    principal: Auth,
    actor: Annotated[
        str | None, Query(max_length=200, description="e.g. root_key:rk_..., cli, scheduler")
    ] = None,
    action: Annotated[
        str | None, Query(max_length=200, description="an action, or a prefix ending in *")
    ] = None,
    target: Annotated[str | None, Query(max_length=200, description="the target's id")] = None,
    since: Annotated[
        str | None, Query(max_length=200, alias="from", description="ISO 8601, inclusive")
    ] = None,
    until: Annotated[
        str | None, Query(max_length=200, alias="to", description="ISO 8601, exclusive")
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page")
    ] = None,
    limit: PageSize = 100,
) -> AuditPageOut:
    """Needs ``audit.read`` (a root key spanning the workspace). Newest first."""
    page = await ks.audit.list(
        principal,
        actor=actor,
        action=action,
        target=target,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    return AuditPageOut(
        items=[AuditEntryOut(**entry_json(e)) for e in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/verify", summary="Verify the audit chain")
async def verify_audit(ks: Service, principal: Auth) -> AuditReportOut:
    """Needs ``audit.read``. ``ok`` is false when any entry was modified,
    deleted, inserted or reordered, or the tail was truncated."""
    return AuditReportOut(**report_json(await ks.audit.verify(principal)))


@router.get("/public_key", summary="The checkpoint signing key")
async def audit_public_key(ks: Service, principal: Auth) -> AuditPublicKeyOut:
    """Needs ``audit.read``. The Ed25519 key that signs checkpoints."""
    await ks.audit.verify_access(principal)
    return AuditPublicKeyOut(
        algorithm="Ed25519", public_key=ks.audit.public_key, pem=ks.audit.public_key_pem
    )


__all__ = ["router"]
