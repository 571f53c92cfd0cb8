"""``keystead alerts``: alert rules (threshold rules and anomaly detectors) and
the alerts they open: list, show, acknowledge, resolve."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from keystead.cli import _output as out
from keystead.cli._connect import Json, open_client, run_delete
from keystead.cli._machine import open_local_store
from keystead.cli._output import Column
from keystead.cli._runtime import JsonOption, YesOption, command, state_of

app = typer.Typer(help="Watch usage: alert rules, and the alerts they open.")
rules_app = typer.Typer(help="Threshold rules and anomaly detectors.")
app.add_typer(rules_app, name="rules")


class Kind(StrEnum):
    threshold = "threshold"
    revoked_use = "revoked_use"
    brute_force = "brute_force"
    new_country = "new_country"
    new_user_agent = "new_user_agent"
    new_ip_range = "new_ip_range"
    volume_spike = "volume_spike"
    error_spike = "error_spike"
    bytes_spike = "bytes_spike"
    leaked_key_used = "leaked_key_used"


class Status(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


AlertId = Annotated[str, typer.Argument(help="The alert's id (alr_...).")]
RuleId = Annotated[str, typer.Argument(help="The rule's id (arl_...).")]
RULE_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("Name", "name"),
    ("Kind", "kind"),
    ("Metric", "metric"),
    ("Scope", "scope"),
    ("Cmp", "comparator"),
    ("Value", "value"),
    ("Window (min)", "window_minutes"),
    ("Severity", "severity"),
    ("Action", "action"),
    ("Enabled", "enabled"),
]
ALERT_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("Severity", "severity"),
    ("Status", "status"),
    ("Kind", "kind"),
    ("Scope", "scope"),
    ("Of", "scope_id"),
    ("Count", "count"),
    ("Last seen", "last_seen"),
]
ALERT_FIELDS: list[Column] = [
    *ALERT_COLUMNS,
    ("Cause", "cause"),
    ("Rule", "rule_id"),
    ("First seen", "first_seen"),
    ("Acknowledged by", "acknowledged_by"),
    ("Resolved", "resolved_at"),
]


@command(rules_app, "create")
def create_rule(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="A name for people.")],
    kind: Annotated[Kind, typer.Option(help="threshold, or an anomaly detector.")],
    metric: Annotated[str | None, typer.Option(help="threshold: requests, errors ...")] = None,
    scope: Annotated[str | None, typer.Option(help="key, owner, api or workspace.")] = None,
    scope_id: Annotated[str | None, typer.Option(help="Only this key/owner/API.")] = None,
    comparator: Annotated[str | None, typer.Option(help="threshold: > >= < <= == !=")] = None,
    value: Annotated[float | None, typer.Option(help="Threshold, or the detector's.")] = None,
    window: Annotated[int | None, typer.Option(help="Window in minutes (5).")] = None,
    baseline_days: Annotated[int | None, typer.Option(help="History compared with (30).")] = None,
    severity: Annotated[Severity | None, typer.Option(help="info, warning, critical.")] = None,
    action: Annotated[str | None, typer.Option(help="disable, rotate or revoke the key.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Create an alert rule."""
    fields: Json = {"name": name, "kind": kind.value}
    given = {
        "metric": metric,
        "scope": scope,
        "scope_id": scope_id,
        "comparator": comparator,
        "value": value,
        "window_minutes": window,
        "baseline_days": baseline_days,
        "severity": None if severity is None else severity.value,
        "action": action,
    }
    fields.update({k: v for k, v in given.items() if v is not None})
    with open_client(state_of(ctx)) as client:
        rule = client.create_alert_rule(**fields)
    out.emit(rule, json_out, lambda c: c.print(out.record(rule, RULE_COLUMNS, title="Rule")))


@command(rules_app, "list")
def list_rules(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List alert rules, oldest first."""
    with open_client(state_of(ctx)) as client:
        items = client.list_alert_rules()
    render = out.show_list(items, RULE_COLUMNS, title="Alert rules", empty="no alert rules")
    out.emit({"items": items}, json_out, render)


@command(rules_app, "delete")
def delete_rule(
    ctx: typer.Context, rule_id: RuleId, yes: YesOption = False, json_out: JsonOption = False
) -> None:
    """Delete an alert rule (its alerts stay)."""
    run_delete(
        state_of(ctx),
        lambda client: client.delete_alert_rule(rule_id),
        prompt=f"Delete alert rule {rule_id}",
        done=f"Deleted alert rule {rule_id}.",
        answer={"id": rule_id},
        yes=yes,
        json_out=json_out,
    )


@command(app, "list")
def list_alerts(
    ctx: typer.Context,
    status: Annotated[Status | None, typer.Option(help="Only in this status.")] = None,
    severity: Annotated[Severity | None, typer.Option(help="Only of this severity.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Page size.")] = 100,
    cursor: Annotated[str | None, typer.Option(help="Continue after this page.")] = None,
    json_out: JsonOption = False,
) -> None:
    """List alerts, oldest first."""
    with open_client(state_of(ctx)) as client:
        page = client.list_alerts(
            status=None if status is None else status.value,
            severity=None if severity is None else severity.value,
            cursor=cursor,
            limit=limit,
        )

    def render(console: Console) -> None:
        out.show_list(page["items"], ALERT_COLUMNS, title="Alerts", empty="no alerts")(console)
        if page.get("next_cursor"):
            out.note(f"more alerts: --cursor {page['next_cursor']}")

    out.emit(page, json_out, render)


def _show(alert: Json, json_out: bool, title: str) -> None:
    def render(console: Console) -> None:
        console.print(out.record(alert, ALERT_FIELDS, title=title))
        console.print(Text("Evidence:", style="bold"))
        console.print(Text(json.dumps(alert.get("evidence"), indent=2, ensure_ascii=False)))

    out.emit(alert, json_out, render)


@command(app, "show")
def show(ctx: typer.Context, alert_id: AlertId, json_out: JsonOption = False) -> None:
    """Show an alert and its evidence."""
    with open_client(state_of(ctx)) as client:
        alert = client.get_alert(alert_id)
    _show(alert, json_out, "Alert")


@command(app, "ack")
def ack(ctx: typer.Context, alert_id: AlertId, json_out: JsonOption = False) -> None:
    """Acknowledge an alert: someone is on it."""
    with open_client(state_of(ctx)) as client:
        alert = client.acknowledge_alert(alert_id)
    _show(alert, json_out, "Alert acknowledged")


@command(app, "resolve")
def resolve(ctx: typer.Context, alert_id: AlertId, json_out: JsonOption = False) -> None:
    """Resolve an alert."""
    with open_client(state_of(ctx)) as client:
        alert = client.resolve_alert(alert_id)
    _show(alert, json_out, "Alert resolved")


@command(app, "evaluate")
def evaluate(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """Run every enabled rule now. Local store only: a server does this on each
    pass of its scheduler."""
    from keystead.http.alert_schemas import alert_out

    with open_local_store(state_of(ctx), "keystead alerts evaluate") as local:
        raised = local.run(local.service.alerts.evaluate())
    items = [alert_out(alert).model_dump(mode="json") for alert in raised]
    render = out.show_list(items, ALERT_COLUMNS, title="Alerts raised", empty="nothing found")
    out.emit({"items": items}, json_out, render)


__all__ = ["app"]
