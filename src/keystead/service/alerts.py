"""``Keystead.alerts``: alert rules, the alerts they open, their states, and
their evaluation (``AlertEvaluator``, run by the scheduler's upkeep, or called
directly with a time). Details: docs/monitoring.md.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from typing import Any

from keystead.core import alerts as rules
from keystead.core.alerts import Alert, AlertRule
from keystead.core.authz import Principal
from keystead.core.ids import new_id
from keystead.core.models import Page
from keystead.errors import Forbidden, NotFound, ValidationError
from keystead.service.actions import LifecycleActions
from keystead.service.alert_evaluation import AlertEvaluator, resolve_alert
from keystead.service.context import ServiceContext
from keystead.service.fields import page_cursor, page_size

_RULE_FIELDS = frozenset(
    {
        "name",
        "kind",
        "severity",
        "window_minutes",
        "metric",
        "scope",
        "scope_id",
        "comparator",
        "value",
        "baseline_days",
        "action",
        "enabled",
    }
)
_DEFAULTS: dict[str, Any] = {
    "severity": "warning",
    "window_minutes": 5,
    "scope": "key",
    "baseline_days": 30,
    "enabled": True,
}


class AlertService:
    def __init__(self, ctx: ServiceContext, actions: LifecycleActions) -> None:
        self._ctx = ctx
        self._evaluator = AlertEvaluator(ctx, actions, self._notify)
        self.on_change: Callable[[Alert], None] | None = None
        """Called with each alert opened or resolved (the export hub's feed)."""

    # rules ----------------------------------------------------------------------
    async def create_rule(self, principal: Principal, **fields: Any) -> AlertRule:
        _require(principal, "alerts.write")
        checked = rules.check_rule({**_DEFAULTS, **_known(fields)})
        now = self._ctx.now()
        rule = AlertRule(
            id=new_id("arl", now.timestamp()),
            workspace_id=principal.workspace_id,
            created_at=now,
            updated_at=now,
            **checked,
        )
        self._ctx.audit(principal, "alert_rule.create", "alert_rule", rule.id, after=checked)
        await self._ctx.store.insert_alert_rule(rule)
        return rule

    async def list_rules(self, principal: Principal) -> list[AlertRule]:
        _require(principal, "alerts.read")
        return await self._ctx.store.list_alert_rules(principal.workspace_id)

    async def get_rule(self, principal: Principal, rule_id: str) -> AlertRule:
        _require(principal, "alerts.read")
        found = await self._ctx.store.get_alert_rule(principal.workspace_id, rule_id)
        if found is None:
            raise NotFound(f"no alert rule '{rule_id}'")
        return found

    async def update_rule(
        self, principal: Principal, rule_id: str, changes: Mapping[str, Any]
    ) -> AlertRule:
        """Change some fields; the rule is checked again as a whole."""
        _require(principal, "alerts.write")
        rule = await self.get_rule(principal, rule_id)
        current = {name: getattr(rule, name) for name in _RULE_FIELDS}
        checked = rules.check_rule({**current, **_known(changes)})
        values = {k: v for k, v in checked.items() if current.get(k) != v}
        if not values:
            return rule
        self._ctx.audit(
            principal,
            "alert_rule.update",
            "alert_rule",
            rule.id,
            before={k: current.get(k) for k in values},
            after=values,
        )
        values["updated_at"] = self._ctx.now()
        updated = await self._ctx.store.update_alert_rule(principal.workspace_id, rule.id, values)
        if updated is None:
            raise NotFound(f"no alert rule '{rule_id}'")
        return updated

    async def delete_rule(self, principal: Principal, rule_id: str) -> None:
        _require(principal, "alerts.write")
        rule = await self.get_rule(principal, rule_id)
        self._ctx.audit(principal, "alert_rule.delete", "alert_rule", rule.id)
        if not await self._ctx.store.delete_alert_rule(principal.workspace_id, rule.id):
            raise NotFound(f"no alert rule '{rule_id}'")

    # alerts ---------------------------------------------------------------------
    async def list(
        self,
        principal: Principal,
        *,
        status: str | None = None,
        severity: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        """Alerts, oldest first."""
        _require(principal, "alerts.read")
        if status is not None and status not in rules.STATUSES:
            raise ValidationError(f"status is one of {', '.join(rules.STATUSES)}", field="status")
        if severity is not None and severity not in rules.SEVERITIES:
            raise ValidationError(
                f"severity is one of {', '.join(rules.SEVERITIES)}", field="severity"
            )
        after = page_cursor("alr", cursor)
        page_size(limit)
        found = await self._ctx.store.list_alerts(
            principal.workspace_id, status=status, severity=severity, after=after, limit=limit + 1
        )
        items = found[:limit]
        return Page(items=items, next_cursor=items[-1].id if len(found) > limit else None)

    async def get(self, principal: Principal, alert_id: str) -> Alert:
        _require(principal, "alerts.read")
        found = await self._ctx.store.get_alert(principal.workspace_id, alert_id)
        if found is None:
            raise NotFound(f"no alert '{alert_id}'")
        return found

    async def acknowledge(self, principal: Principal, alert_id: str) -> Alert:
        """Someone is on it: it stays unresolved (and keeps deduplicating)."""
        _require(principal, "alerts.write")
        alert = await self.get(principal, alert_id)
        if alert.status != "open":
            return alert
        values = {
            "status": "acknowledged",
            "acknowledged_by": principal.actor,
            "acknowledged_at": self._ctx.now(),
        }
        return await self._update(principal, alert, "alert.acknowledge", values)

    async def resolve(self, principal: Principal, alert_id: str) -> Alert:
        """Close it (``alert.resolved`` goes to the outbox); the next finding of
        the same rule and scope opens a new alert."""
        _require(principal, "alerts.write")
        alert = await self.get(principal, alert_id)
        if alert.status == "resolved":
            return alert
        updated = await resolve_alert(self._ctx, principal, alert, "alert.resolve")
        if updated is None:
            raise NotFound(f"no alert '{alert_id}'")
        self._notify(updated)
        return updated

    async def _update(
        self,
        principal: Principal,
        alert: Alert,
        action: str,
        values: dict[str, Any],
    ) -> Alert:
        self._ctx.audit(
            principal, action, "alert", alert.id, before={"status": alert.status}, after=values
        )
        updated = await self._ctx.store.update_alert(principal.workspace_id, alert.id, values)
        if updated is None:
            raise NotFound(f"no alert '{alert.id}'")
        return updated

    async def evaluate(self, now: float | None = None) -> builtins.list[Alert]:
        """Run every enabled rule over the window ending at ``now`` (see
        ``AlertEvaluator.evaluate``): the alerts opened or updated."""
        return await self._evaluator.evaluate(now)

    def announce(self, alert: Alert) -> None:
        """Tell ``on_change`` of an alert opened elsewhere (a secret that failed
        its integrity check)."""
        self._notify(alert)

    def _notify(self, alert: Alert) -> None:
        if self.on_change is not None:
            self.on_change(alert)


def _require(principal: Principal, permission: str) -> None:
    principal.require(permission)
    if principal.api_ids is not None or principal.owner_id is not None:
        raise Forbidden("alerts are workspace-wide: a root key narrowed to APIs or an owner")


def _known(fields: Mapping[str, Any]) -> dict[str, Any]:
    for name in fields:
        if name not in _RULE_FIELDS:
            raise ValidationError(f"unexpected field '{name}'", field=name)
    return dict(fields)


__all__ = ["AlertService"]
