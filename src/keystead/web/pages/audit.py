"""The audit log (``/ui/audit``): entries filtered by actor, action, target and
time range, newest first with cursor pagination, and a "Verify chain" button
that runs ``ks.audit.verify`` (what ``GET /v1/audit/verify`` and
``keystead audit verify`` run) and shows the report, naming every break."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from keystead.core.audit import AuditEntry, AuditReport, entry_json
from keystead.web.routing import WebRequest, action, page

PAGE = 50
FILTERS = ("actor", "action", "target", "from", "to")


def _rows(entries: list[AuditEntry]) -> list[dict[str, Any]]:
    """Each entry with its changes as indented JSON text (escaped when shown)."""
    rows = []
    for entry in entries:
        changes = entry_json(entry)["changes"]
        text = orjson.dumps(changes, option=orjson.OPT_INDENT_2).decode() if changes else ""
        rows.append({"e": entry, "changes": text, "fields": len(changes or {})})
    return rows


@page("/ui/audit")
async def audit(req: WebRequest) -> Response:
    params = {name: req.query(name) for name in FILTERS}
    found = await req.ks.audit.list(
        req.principal,
        actor=params["actor"],
        action=params["action"],
        target=params["target"],
        since=params["from"],  # a datetime-local value (no zone): read as UTC
        until=params["to"],
        cursor=req.query("cursor"),
        limit=PAGE,
    )
    return req.render(
        "ui/audit/list.html",
        entries=_rows(found.items),
        next_cursor=found.next_cursor,
        params=params,
        report=None,
    )


@action("/ui/audit/verify")
async def verify(req: WebRequest) -> Response:
    """The chain's report: a fragment for htmx (swapped under the button), else
    the audit page with it."""
    report: AuditReport = await req.ks.audit.verify(req.principal)
    if req.htmx:
        return req.render("ui/audit/_report.html", report=report)
    found = await req.ks.audit.list(req.principal, limit=PAGE)
    return req.render(
        "ui/audit/list.html",
        entries=_rows(found.items),
        next_cursor=found.next_cursor,
        params=dict.fromkeys(FILTERS),
        report=report,
    )
