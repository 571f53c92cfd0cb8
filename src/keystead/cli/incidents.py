"""``keystead incidents``: the records the compromise procedure opens
(``keystead keys compromise``), with the evidence gathered at the time."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from keystead.cli import _output as out
from keystead.cli._connect import Json, open_client
from keystead.cli._output import Column
from keystead.cli._runtime import JsonOption, UsageProblem, command, state_of

app = typer.Typer(help="Follow up compromised keys: list, show and update incidents.")


class Status(StrEnum):
    open = "open"
    investigating = "investigating"
    resolved = "resolved"


IncidentId = Annotated[str, typer.Argument(help="The incident's id (inc_...).")]
INCIDENT_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("Key", "key_id"),
    ("Status", "status"),
    ("Replacement", "replacement_key_id"),
    ("Opened", "created_at"),
]
INCIDENT_FIELDS: list[Column] = [
    *INCIDENT_COLUMNS,
    ("Reason", "reason"),
    ("Notes", "notes"),
    ("Opened by", "created_by"),
    ("Updated", "updated_at"),
]


@command(app, "list")
def list_incidents(
    ctx: typer.Context,
    status: Annotated[Status | None, typer.Option(help="Only in this status.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Only of this key id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Page size.")] = 100,
    cursor: Annotated[str | None, typer.Option(help="Continue after this page.")] = None,
    json_out: JsonOption = False,
) -> None:
    """List incidents, oldest first."""
    with open_client(state_of(ctx)) as client:
        page = client.list_incidents(
            status=None if status is None else status.value, key_id=key, cursor=cursor, limit=limit
        )

    def render(console: Console) -> None:
        items = page["items"]
        out.show_list(items, INCIDENT_COLUMNS, title="Incidents", empty="no incidents")(console)
        if page.get("next_cursor"):
            out.note(f"more incidents: --cursor {page['next_cursor']}")

    out.emit(page, json_out, render)


@command(app, "show")
def show(ctx: typer.Context, incident_id: IncidentId, json_out: JsonOption = False) -> None:
    """Show an incident and its evidence."""
    with open_client(state_of(ctx)) as client:
        incident = client.get_incident(incident_id)
    out.emit(incident, json_out, lambda c: incident_view(c, incident, "Incident"))


@command(app, "update")
def update(
    ctx: typer.Context,
    incident_id: IncidentId,
    status: Annotated[Status | None, typer.Option(help="open, investigating or resolved.")] = None,
    notes: Annotated[str | None, typer.Option(help="Free text, replacing the notes.")] = None,
    clear_notes: Annotated[bool, typer.Option(help="Remove the notes.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Change an incident's status or notes."""
    changes: Json = {}
    if status is not None:
        changes["status"] = status.value
    if notes is not None and clear_notes:
        raise UsageProblem("give --notes or --clear-notes, not both")
    if notes is not None or clear_notes:
        changes["notes"] = notes
    if not changes:
        raise UsageProblem("give --status, --notes or --clear-notes")
    with open_client(state_of(ctx)) as client:
        incident = client.update_incident(incident_id, changes)
    out.emit(incident, json_out, lambda c: incident_view(c, incident, "Incident updated"))


@command(app, "exposure")
def exposure(
    ctx: typer.Context,
    incident_id: IncidentId,
    leaked_at: Annotated[
        str | None, typer.Option(help="When the key leaked (default: the reported leak's time).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Analyse again what the incident's key did after it leaked: abused or not."""
    with open_client(state_of(ctx)) as client:
        incident = client.reassess_exposure(incident_id, leaked_at=leaked_at)
    found = incident["evidence"]["exposure"]

    def render(console: Console) -> None:
        console.print(Text(found["summary"], style="bold red" if found["reasons"] else "bold"))
        before, after = found["before"], found["after"]
        usual = "never used" if before is None else f"{before['per_hour']}/h"
        console.print(
            Text(
                f"{found['leaked_at']} to {found['until']}: {after['requests']} requests, "
                f"{after['per_hour']}/h (before the leak: {usual})"
            )
        )
        for kind, new in found["new"].items():
            if new["count"]:
                shown = ", ".join(v["value"] for v in new["values"])
                console.print(Text(f"new {kind.replace('_', ' ')} ({new['count']}): {shown}"))

    out.emit(incident, json_out, render)


def incident_view(console: Console, incident: Json, title: str) -> None:
    """The incident's panel, then its evidence as indented JSON (plain text)."""
    cause = incident.get("cause")
    reason = cause.get("reason") if isinstance(cause, dict) else None
    console.print(out.record({**incident, "reason": reason}, INCIDENT_FIELDS, title=title))
    console.print(Text("Evidence:", style="bold"))
    console.print(Text(json.dumps(incident.get("evidence"), indent=2, ensure_ascii=False)))


__all__ = ["app", "incident_view"]
