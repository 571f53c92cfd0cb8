"""``/v1/pickups``: rotated keys held for their owners, handed out once.

A pickup of an owner's key is claimed with a root key narrowed to that owner
(``POST /v1/root_keys`` with ``owner_id``); a pickup of a key without an owner,
with a workspace-wide root key. The claim answers the key (sealed) or a JWE
only the owner's private key opens (jwe), once: 409 after, 410 once expired.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query

from keystead.http.auth import Auth, Service
from keystead.http.custody_views import ClaimOut, PickupPage, claim_out, pickup_out
from keystead.http.fieldtypes import PageSize
from keystead.http.openapi import CONFLICT, FOUND, Problem
from keystead.http.routing import router as make_router
from keystead.http.schemas import ObjectId

router = make_router(prefix="/v1/pickups", tags=["pickups"])

PickupId = Annotated[ObjectId, Path(description="the pickup's id (pck_...)")]
GONE: dict[int | str, dict[str, Any]] = {
    410: {"model": Problem, "description": "The pickup expired; its ciphertext was erased"}
}


@router.get("", summary="List pickups")
async def list_pickups(
    ks: Service,
    principal: Auth,
    cursor: Annotated[
        ObjectId | None, Query(description="next_cursor of the previous page")
    ] = None,
    limit: PageSize = 100,
) -> PickupPage:
    """Needs ``keys.pickup``. Metadata only (never key material), oldest first; a
    root key narrowed to an owner sees that owner's pickups."""
    page = await ks.pickups.list(principal, cursor=cursor, limit=limit)
    now = datetime.fromtimestamp(ks.clock.now(), UTC)
    return PickupPage(items=[pickup_out(p, now) for p in page.items], next_cursor=page.next_cursor)


@router.post(
    "/{pickup_id}/claim",
    summary="Claim a pickup (once)",
    responses={**FOUND, **CONFLICT, **GONE},
)
async def claim_pickup(pickup_id: PickupId, ks: Service, principal: Auth) -> ClaimOut:
    """Needs ``keys.pickup`` and the pickup's owner scope (see above). The answer
    holds the key (``sealed``) or its JWE (``jwe``): this once, never again."""
    return claim_out(await ks.pickups.claim(principal, pickup_id))


__all__ = ["router"]
