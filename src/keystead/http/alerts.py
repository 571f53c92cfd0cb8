"""``/v1/alerts``: alert rules, and the alerts they open (acknowledge, resolve).
Alerts are workspace-wide: a root key narrowed to APIs or an owner gets 403."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Response

from keystead.http.alert_schemas import (
    AlertOut,
    AlertPage,
    AlertStatus,
    RuleIn,
    RuleList,
    RuleOut,
    RulePatch,
    Severity,
    alert_out,
    rule_out,
)
from keystead.http.auth import Auth, Service
from keystead.http.fieldtypes import PageSize
from keystead.http.openapi import FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import ObjectId, changes

router = make_router(tags=["alerts"])

RuleId = Annotated[ObjectId, Path(description="the rule's id (arl_...)")]
AlertId = Annotated[ObjectId, Path(description="the alert's id (alr_...)")]


@router.post(
    "/v1/alerts/rules", status_code=201, summary="Create an alert rule", responses=WITH_BODY
)
async def create_rule(body: RuleIn, ks: Service, principal: Auth) -> RuleOut:
    """Needs ``alerts.write``. A threshold rule (metric, scope, comparator, value)
    or an anomaly detector (revoked_use, brute_force, new_country,
    new_user_agent, new_ip_range, volume_spike, error_spike, bytes_spike,
    leaked_key_used); see
    docs/monitoring.md."""
    return rule_out(await ks.alerts.create_rule(principal, **changes(body)))


@router.get("/v1/alerts/rules", summary="List alert rules")
async def list_rules(ks: Service, principal: Auth) -> RuleList:
    """Needs ``alerts.read``. Oldest first."""
    return RuleList(items=[rule_out(r) for r in await ks.alerts.list_rules(principal)])


@router.get("/v1/alerts/rules/{rule_id}", summary="Get an alert rule", responses=FOUND)
async def get_rule(rule_id: RuleId, ks: Service, principal: Auth) -> RuleOut:
    """Needs ``alerts.read``."""
    return rule_out(await ks.alerts.get_rule(principal, rule_id))


@router.patch(
    "/v1/alerts/rules/{rule_id}",
    summary="Change an alert rule",
    responses={**WITH_BODY, **FOUND},
)
async def update_rule(rule_id: RuleId, body: RulePatch, ks: Service, principal: Auth) -> RuleOut:
    """Needs ``alerts.write``. The rule is checked again as a whole."""
    return rule_out(await ks.alerts.update_rule(principal, rule_id, changes(body)))


@router.delete(
    "/v1/alerts/rules/{rule_id}", status_code=204, summary="Delete an alert rule", responses=FOUND
)
async def delete_rule(rule_id: RuleId, ks: Service, principal: Auth) -> Response:
    """Needs ``alerts.write``. Its alerts stay."""
    await ks.alerts.delete_rule(principal, rule_id)
    return Response(status_code=204)


@router.get("/v1/alerts", summary="List alerts")
async def list_alerts(
    ks: Service,
    principal: Auth,
    status: Annotated[AlertStatus | None, Query(description="only in this status")] = None,
    severity: Annotated[Severity | None, Query(description="only of this severity")] = None,
    cursor: Annotated[
        ObjectId | None, Query(description="next_cursor of the previous page")
    ] = None,
    limit: PageSize = 100,
) -> AlertPage:
    """Needs ``alerts.read``. Oldest first."""
    page = await ks.alerts.list(
        principal, status=status, severity=severity, cursor=cursor, limit=limit
    )
    return AlertPage(items=[alert_out(a) for a in page.items], next_cursor=page.next_cursor)


@router.get("/v1/alerts/{alert_id}", summary="Get an alert", responses=FOUND)
async def get_alert(alert_id: AlertId, ks: Service, principal: Auth) -> AlertOut:
    """Needs ``alerts.read``."""
    return alert_out(await ks.alerts.get(principal, alert_id))


@router.post("/v1/alerts/{alert_id}/acknowledge", summary="Acknowledge an alert", responses=FOUND)
async def acknowledge_alert(alert_id: AlertId, ks: Service, principal: Auth) -> AlertOut:
    """Needs ``alerts.write``. It stays unresolved, and keeps deduplicating."""
    return alert_out(await ks.alerts.acknowledge(principal, alert_id))


@router.post("/v1/alerts/{alert_id}/resolve", summary="Resolve an alert", responses=FOUND)
async def resolve_alert(alert_id: AlertId, ks: Service, principal: Auth) -> AlertOut:
    """Needs ``alerts.write``. Sends ``alert.resolved``; a new finding opens a new alert."""
    return alert_out(await ks.alerts.resolve(principal, alert_id))


__all__ = ["router"]
