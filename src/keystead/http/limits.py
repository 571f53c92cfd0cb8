"""Limit state: give concurrency slots back, and see an IP's failed verifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from keystead.http.auth import Auth, Service
from keystead.http.fieldtypes import NoNul
from keystead.http.limit_schemas import LeaseRelease
from keystead.http.limit_views import FailedAttemptsOut
from keystead.http.openapi import WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import VERIFY_LIMITS

router = make_router(tags=["limits"])

IpParam = Annotated[
    NoNul,
    Query(
        min_length=1,
        max_length=VERIFY_LIMITS["ip"],
        description="the client address, as sent in verify's 'ip'",
    ),
]


@router.post(
    "/v1/keys/verify/release",
    status_code=204,
    summary="Release concurrency leases",
    responses=WITH_BODY,
)
async def release_leases(body: LeaseRelease, ks: Service, principal: Auth) -> Response:
    """Needs ``keys.verify``. Gives back the concurrency slots a verification took
    (its ``leases``) once the request they admitted is done. Unknown, expired or
    already released leases, and leases of other workspaces, are ignored."""
    await ks.release(body.leases, principal=principal)
    return Response(status_code=204)


@router.get("/v1/limits/failed_attempts", summary="Failed verifications of a client IP")
async def failed_attempts(ip: IpParam, ks: Service, principal: Auth) -> FailedAttemptsOut:
    """Needs ``limits.read``. The brute-force state of one client IP. What this node
    knows: ``failures_seen`` (the failures it saw since it started) and
    ``blocked_until`` (until when it refuses the IP). From the settings: ``enabled``
    (whether protection is on), ``limit`` failures per ``window_s`` seconds. From the
    limiter, read without spending (shared by every node when it is Redis):
    ``remaining`` of the IP's allowance and ``reset``, the epoch second it is whole
    again. ``limit`` and ``window_s`` are null when protection is off; ``remaining``
    and ``reset`` also when the limiter cannot be reached. The counter is server-wide
    (per IP, across workspaces), hence its own permission."""
    state = await ks.failed_attempts_of(principal, ip)
    return FailedAttemptsOut(
        ip=state.ip,
        failures_seen=state.failures_seen,
        blocked_until=state.blocked_until,
        enabled=state.enabled,
        limit=state.limit,
        window_s=state.window_s,
        remaining=state.remaining,
        reset=state.reset,
    )


__all__ = ["router"]
