"""``POST /v1/incidents/{incident_id}/exposure``: run a leaked key's exposure
analysis again (docs/scanning.md, "Exposure analysis") and keep it in the
incident's evidence."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field

from keystead.http.auth import Auth, Service
from keystead.http.custody_views import IncidentOut, incident_out
from keystead.http.fieldtypes import STAMP_DOC, RequestModel, Stamp
from keystead.http.openapi import FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import ObjectId

router = make_router(tags=["incidents"])

IncidentId = Annotated[ObjectId, Path(description="the incident's id (inc_...)")]


class ExposureIn(RequestModel):
    leaked_at: Stamp | None = Field(
        default=None,
        description="when the key leaked; default: the reported leak's time. " + STAMP_DOC,
    )


@router.post(
    "/v1/incidents/{incident_id}/exposure",
    summary="Analyse again what a leaked key did after its leak",
    responses={**WITH_BODY, **FOUND},
)
async def reassess_exposure(
    incident_id: IncidentId, ks: Service, principal: Auth, body: ExposureIn | None = None
) -> IncidentOut:
    """Needs ``incidents.read`` and ``incidents.write``. Compares the key's usage
    from its leak time to its revocation (or now) with its usage before, and
    keeps the label (``abused`` or ``no sign of abuse``) and the evidence in
    the incident's ``evidence.exposure``."""
    leaked_at = None if body is None else body.leaked_at
    found = await ks.exposure.reassess(principal, incident_id, leaked_at=leaked_at)
    return incident_out(found)


__all__ = ["ExposureIn", "router"]
