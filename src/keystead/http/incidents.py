"""``/v1/incidents`` and ``POST /v1/keys/{key_id}/compromise``: the compromise
procedure in one call, and the incidents it opens.

The compromise answer is one of the two places a key is revealed: with
``replace``, the replacement's plaintext ``key``, shown this once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from keystead.http.auth import Auth, Service
from keystead.http.custody_schemas import CompromiseIn, IncidentPatch, IncidentStatus
from keystead.http.custody_views import (
    CompromiseOut,
    IncidentOut,
    IncidentPage,
    compromise_out,
    incident_out,
)
from keystead.http.fieldtypes import PageSize
from keystead.http.openapi import CONFLICT, FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import ObjectId, changes

router = make_router(tags=["incidents"])

KeyId = Annotated[ObjectId, Path(description="the key's id (key_...)")]
IncidentId = Annotated[ObjectId, Path(description="the incident's id (inc_...)")]


@router.post(
    "/v1/keys/{key_id}/compromise",
    status_code=201,
    summary="Report a key compromised: revoke, replace, notify, open an incident",
    responses={**WITH_BODY, **FOUND, **CONFLICT},
)
async def compromise_key(
    key_id: KeyId, ks: Service, principal: Auth, body: CompromiseIn | None = None
) -> CompromiseOut:
    """Needs ``keys.revoke`` and ``incidents.write`` (``replace`` also ``keys.create``
    and ``keys.rotate``). The key is revoked at once; ``replace`` answers the
    replacement's plaintext ``key`` this once; ``notify`` (default) sends
    ``key.compromised`` to the webhooks; the incident holds the evidence."""
    given = body or CompromiseIn()
    done = await ks.incidents.compromise(
        principal, key_id, replace=given.replace, reason=given.reason, notify=given.notify
    )
    return compromise_out(done)


@router.get("/v1/incidents", summary="List incidents")
async def list_incidents(
    ks: Service,
    principal: Auth,
    status: Annotated[IncidentStatus | None, Query(description="only in this status")] = None,
    key_id: Annotated[ObjectId | None, Query(description="only of this key")] = None,
    cursor: Annotated[
        ObjectId | None, Query(description="next_cursor of the previous page")
    ] = None,
    limit: PageSize = 100,
) -> IncidentPage:
    """Needs ``incidents.read``. Oldest first."""
    page = await ks.incidents.list(
        principal, status=status, key_id=key_id, cursor=cursor, limit=limit
    )
    return IncidentPage(items=[incident_out(i) for i in page.items], next_cursor=page.next_cursor)


@router.get("/v1/incidents/{incident_id}", summary="Get an incident", responses=FOUND)
async def get_incident(incident_id: IncidentId, ks: Service, principal: Auth) -> IncidentOut:
    """Needs ``incidents.read``."""
    return incident_out(await ks.incidents.get(principal, incident_id))


@router.patch(
    "/v1/incidents/{incident_id}",
    summary="Update an incident's status or notes",
    responses={**WITH_BODY, **FOUND},
)
async def update_incident(
    incident_id: IncidentId, body: IncidentPatch, ks: Service, principal: Auth
) -> IncidentOut:
    """Needs ``incidents.write``. ``status``: open, investigating, resolved;
    ``notes``: free text (null clears)."""
    return incident_out(await ks.incidents.update(principal, incident_id, changes(body)))


__all__ = ["router"]
