"""Alerts (``/ui/alerts``): open, acknowledged and resolved alerts with
acknowledge and resolve buttons, each alert's evidence, and the rules (list,
create, edit, delete). Every operation is the ``ks.alerts`` method its
``/v1/alerts`` route calls, with the session's principal."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response

from keystead.core import alerts as rules
from keystead.core.alerts import AlertRule
from keystead.errors import ValidationError
from keystead.web.nav import allowed
from keystead.web.pages import formvalues as fv
from keystead.web.routing import WebRequest, action, page

PAGE = 50
NEW_RULE: dict[str, Any] = {
    "kind": "threshold",
    "severity": "warning",
    "window_minutes": "5",
    "scope": "key",
    "baseline_days": "30",
    "enabled": "1",
}


def _choices(req: WebRequest) -> dict[str, Any]:
    """The rule form's options, as ``(value, label)`` pairs."""
    return {
        "kinds": _pairs(rules.KINDS),
        "severities": _pairs(rules.SEVERITIES),
        "metrics": [("", "—"), *_pairs(rules.METRICS)],
        "scopes": _pairs(rules.RULE_SCOPES),
        "comparators": [("", "—"), *_pairs(tuple(rules.COMPARATORS))],
        "rule_actions": [("", "None"), *_pairs(rules.RULE_ACTIONS)],
        "can_write": allowed(req.principal, ("alerts.write",)),
    }


def _pairs(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


@page("/ui/alerts")
async def alerts(req: WebRequest) -> Response:
    """Alerts of one status (open first), newest page by cursor."""
    status = req.query("status") or "open"
    found = await req.ks.alerts.list(
        req.principal,
        status=status,
        severity=req.query("severity"),
        cursor=req.query("cursor"),
        limit=PAGE,
    )
    return req.render(
        "ui/alerts/list.html",
        alerts=found.items,
        next_cursor=found.next_cursor,
        status_filter=status,
        statuses=rules.STATUSES,
        severity=req.query("severity"),
        done=fv.done_message(req.query("done")),
        **_choices(req),
    )


def _back(form: FormData, alert_id: str) -> str:
    """Where an acknowledge or resolve button returns: the list it was pressed
    on (its status), else the alert."""
    status = fv.text(form, "from_status")
    if status in rules.STATUSES:
        return f"/ui/alerts?status={status}"
    return f"/ui/alerts/{alert_id}"


@action("/ui/alerts/{alert_id}/acknowledge")
async def acknowledge(req: WebRequest) -> Response:
    alert = await req.ks.alerts.acknowledge(req.principal, req.path("alert_id"))
    back = _back(await req.form(), alert.id)
    return req.redirect(back + ("&" if "?" in back else "?") + "done=acknowledged")


@action("/ui/alerts/{alert_id}/resolve")
async def resolve(req: WebRequest) -> Response:
    alert = await req.ks.alerts.resolve(req.principal, req.path("alert_id"))
    back = _back(await req.form(), alert.id)
    return req.redirect(back + ("&" if "?" in back else "?") + "done=resolved")


# rules ----------------------------------------------------------------------------


_OPTIONAL = ("metric", "scope_id", "comparator", "value", "action")


def _rule_values(rule: AlertRule) -> dict[str, Any]:
    """The form's values for ``rule`` (strings, as the inputs hold them)."""
    values = {name: getattr(rule, name) for name in (*NEW_RULE, *_OPTIONAL)}
    values["name"] = rule.name
    values["enabled"] = "1" if rule.enabled else ""
    if isinstance(rule.value, float) and rule.value.is_integer():
        values["value"] = int(rule.value)
    return {k: ("" if v is None else str(v)) for k, v in values.items()}


def _rule_fields(form: FormData) -> dict[str, Any]:
    """A whole rule from the form (the service checks it: ``core.alerts.check_rule``)."""
    kind = fv.text(form, "kind") or ""
    fields: dict[str, Any] = {
        "name": fv.text(form, "name") or "",
        "kind": kind,
        "severity": fv.text(form, "severity") or "",
        "window_minutes": fv.whole(form, "window_minutes"),
        "baseline_days": fv.whole(form, "baseline_days"),
        "scope_id": fv.text(form, "scope_id"),
        "value": fv.number(form, "value"),
        "action": fv.text(form, "action"),
        "enabled": fv.checked(form, "enabled"),
        "metric": fv.text(form, "metric"),
        "comparator": fv.text(form, "comparator"),
        "scope": fv.text(form, "scope") or "key",
    }
    if kind != "threshold":  # detectors take no metric or comparator and watch keys
        fields.update(metric=None, comparator=None, scope="key")
    for name in ("window_minutes", "baseline_days"):
        if fields[name] is None:
            fields[name] = int(NEW_RULE[name])
    return fields


async def _rules_page(
    req: WebRequest, values: dict[str, Any] | None = None, error: ValidationError | None = None
) -> Response:
    return req.render(
        "ui/alerts/rules.html",
        **fv.outcome(error, req.query("done")),
        rules=await req.ks.alerts.list_rules(req.principal),
        values=values or NEW_RULE,
        **_choices(req),
    )


@page("/ui/alerts/rules")
async def alert_rules(req: WebRequest) -> Response:
    return await _rules_page(req)


@action("/ui/alerts/rules")
async def create_rule(req: WebRequest) -> Response:
    form = await req.form()
    try:
        await req.ks.alerts.create_rule(req.principal, **_rule_fields(form))
    except ValidationError as exc:
        return await _rules_page(req, fv.typed(form), exc)
    return req.redirect("/ui/alerts/rules?done=created")


async def _rule_page(
    req: WebRequest,
    rule_id: str,
    values: dict[str, Any] | None = None,
    error: ValidationError | None = None,
) -> Response:
    rule = await req.ks.alerts.get_rule(req.principal, rule_id)
    return req.render(
        "ui/alerts/rule.html",
        **fv.outcome(error, req.query("done")),
        rule=rule,
        values=values or _rule_values(rule),
        **_choices(req),
    )


@page("/ui/alerts/rules/{rule_id}")
async def alert_rule(req: WebRequest) -> Response:
    return await _rule_page(req, req.path("rule_id"))


@action("/ui/alerts/rules/{rule_id}")
async def update_rule(req: WebRequest) -> Response:
    rule_id = req.path("rule_id")
    form = await req.form()
    try:
        await req.ks.alerts.update_rule(req.principal, rule_id, _rule_fields(form))
    except ValidationError as exc:
        return await _rule_page(req, rule_id, fv.typed(form), exc)
    return req.redirect(f"/ui/alerts/rules/{rule_id}?done=updated")


@action("/ui/alerts/rules/{rule_id}/delete")
async def delete_rule(req: WebRequest) -> Response:
    await req.ks.alerts.delete_rule(req.principal, req.path("rule_id"))
    return req.redirect("/ui/alerts/rules?done=deleted")


@page("/ui/alerts/{alert_id}")
async def alert_detail(req: WebRequest) -> Response:
    alert = await req.ks.alerts.get(req.principal, req.path("alert_id"))
    return req.render(
        "ui/alerts/detail.html",
        alert=alert,
        summary=alert.evidence.get("summary") or {},
        records=alert.evidence.get("records") or [],
        done=fv.done_message(req.query("done")),
        **_choices(req),
    )
