"""Incidents (``/ui/incidents``): the list by status, and an incident with its
cause, evidence and exposure analysis; status and notes are edited and the
exposure analysed again through the calls of ``PATCH /v1/incidents/{id}`` and
``POST /v1/incidents/{id}/exposure``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from keystead.errors import ValidationError
from keystead.service.incidents import STATUSES
from keystead.web.pages.custody_fields import PAGE_SIZE, object_id, query_id
from keystead.web.routing import WebRequest, action, page

MAX_NOTES = 10_000


@page("/ui/incidents")
async def incidents(req: WebRequest) -> Response:
    status = req.query("status")
    if status is not None and status not in STATUSES:
        raise ValidationError(f"status is one of {', '.join(STATUSES)}", field="status")
    key_id = query_id(req, "key_id")
    found = await req.ks.incidents.list(
        req.principal, status=status, key_id=key_id, cursor=query_id(req, "cursor"), limit=PAGE_SIZE
    )
    return req.render(
        "ui/incidents/index.html",
        incidents=found.items,
        next_cursor=found.next_cursor,
        chosen_status=status,
        key_id=key_id,
        statuses=STATUSES,
        params={"status": status, "key_id": key_id},
    )


def _incident_id(req: WebRequest) -> str:
    return object_id(req.path("incident_id"), "incident_id") or ""


def _evidence(evidence: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The exposure analysis apart from the rest of the evidence."""
    rest = {k: v for k, v in evidence.items() if k != "exposure"}
    exposure = evidence.get("exposure")
    return (exposure if isinstance(exposure, dict) and exposure else None), rest


async def _detail(req: WebRequest, incident_id: str, **extra: Any) -> Response:
    found = await req.ks.incidents.get(req.principal, incident_id)
    exposure, evidence = _evidence(found.evidence)
    return req.render(
        "ui/incidents/detail.html",
        incident=found,
        exposure=exposure,
        evidence=evidence,
        statuses=STATUSES,
        **extra,
    )


@page("/ui/incidents/{incident_id}")
async def incident(req: WebRequest) -> Response:
    return await _detail(req, _incident_id(req))


@action("/ui/incidents/{incident_id}")
async def update_incident(req: WebRequest) -> Response:
    """Status and notes (empty notes clear them)."""
    incident_id = _incident_id(req)
    form = await req.form()
    status, notes = form.get("status"), form.get("notes")
    changes: dict[str, Any] = {}
    if isinstance(status, str) and status:
        changes["status"] = status
    if isinstance(notes, str):
        if len(notes) > MAX_NOTES:
            raise ValidationError(f"notes hold at most {MAX_NOTES} characters", field="notes")
        changes["notes"] = notes.strip() or None
    try:
        await req.ks.incidents.update(req.principal, incident_id, changes)
    except ValidationError as exc:
        return await _detail(req, incident_id, status=422, error=exc.detail, error_field=exc.field)
    return req.redirect(f"/ui/incidents/{incident_id}")


@action("/ui/incidents/{incident_id}/exposure")
async def reassess_exposure(req: WebRequest) -> Response:
    incident_id = _incident_id(req)
    await req.ks.exposure.reassess(req.principal, incident_id)
    return req.redirect(f"/ui/incidents/{incident_id}")
