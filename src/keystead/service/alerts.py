"""``Keystead.alerts``: alert rules, the alerts they open, and their evaluation
(run by the scheduler's upkeep, or called directly with a time).

Opening an alert writes ``alert.opened`` to the outbox in the same transaction
and logs it at WARNING (ids and causes only, never key material); a rule's
optional action (disable, rotate, revoke) then goes through the one door,
``LifecycleActions.apply``, once per alert. Details: docs/monitoring.md.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from keystead.core import alerts as rules
from keystead.core import events
from keystead.core.alerts import Alert, AlertRule, Finding
from keystead.core.authz import Principal
from keystead.core.ids import new_id
from keystead.core.models import Page
from keystead.core.usage import Rollup, UsageRecord, bucket_start
from keystead.errors import Forbidden, KeysteadError, NotFound, ValidationError
from keystead.service.actions import LifecycleActions
from keystead.service.context import ServiceContext
from keystead.service.fields import page_cursor, page_size
from keystead.service.scheduler import system_principal

log = logging.getLogger("keystead.alerts")
MAX_RECORDS = 20_000
"""Raw records read per workspace and window; past it, the newest are not seen."""
_DAY_S = 86_400
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
        self._actions = actions

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
        now = self._ctx.now()
        values = {"status": "resolved", "open_key": None, "resolved_at": now}
        done = dataclasses.replace(alert, status="resolved", resolved_at=now)
        event = events.Event.new(events.ALERT_RESOLVED, alert.workspace_id, now, _data(done))
        updated = await self._update(principal, alert, "alert.resolve", values, [event])
        self._ctx.events_written()
        return updated

    async def _update(
        self,
        principal: Principal,
        alert: Alert,
        action: str,
        values: dict[str, Any],
        written: builtins.list[events.Event] | None = None,
    ) -> Alert:
        shown = {k: v for k, v in values.items() if k != "open_key"}
        self._ctx.audit(
            principal, action, "alert", alert.id, before={"status": alert.status}, after=shown
        )
        updated = await self._ctx.store.update_alert(
            principal.workspace_id, alert.id, values, written or ()
        )
        if updated is None:
            raise NotFound(f"no alert '{alert.id}'")
        return updated

    # evaluation -----------------------------------------------------------------
    async def evaluate(self, now: float | None = None) -> builtins.list[Alert]:
        """Run every enabled rule over the window ending at ``now``; the alerts
        opened or updated. A rule that fails is logged and skipped."""
        at = self._ctx.clock.now() if now is None else now
        raised: builtins.list[Alert] = []
        cache: dict[tuple[str, int], builtins.list[UsageRecord]] = {}
        for rule in await self._ctx.store.list_alert_rules(None):
            try:
                findings = await self._findings(rule, at, cache)
                for finding in findings:
                    raised.append(await self._raise(rule, finding, at))
            except KeysteadError as exc:
                log.error("alert rule %s failed: %s", rule.id, exc)
        return raised

    async def _findings(
        self, rule: AlertRule, now: float, cache: dict[tuple[str, int], builtins.list[UsageRecord]]
    ) -> builtins.list[Finding]:
        window_s = rule.window_minutes * 60
        if rule.kind == "threshold":
            return rules.threshold(rule, await self._windows(rule, now, window_s))
        key = (rule.workspace_id, window_s)
        if key not in cache:
            cache[key] = await self._ctx.store.usage_between(
                rule.workspace_id, _dt(now - window_s), _dt(now), limit=MAX_RECORDS
            )
        records = cache[key]
        if rule.scope_id is not None:
            records = [r for r in records if r.key_id == rule.scope_id]
        value = rule.value or 0.0
        if rule.kind == "revoked_use":
            return rules.revoked_use(records)
        if rule.kind == "brute_force":
            return rules.brute_force(records, value)
        key_ids = sorted({r.key_id for r in records if r.key_id is not None})
        if not key_ids:
            return []
        baseline_from = _dt(now - window_s - rule.baseline_days * _DAY_S)
        countries, agents, counts = await self._ctx.store.usage_history(
            rule.workspace_id, key_ids, baseline_from, _dt(now - window_s)
        )
        if rule.kind == "new_country":
            return rules.first_seen(records, countries, "country")
        if rule.kind == "new_user_agent":
            return rules.first_seen(records, agents, "user_agent")
        windows = rule.baseline_days * _DAY_S / window_s
        return rules.volume_spike(records, counts, windows, value)

    async def _windows(self, rule: AlertRule, now: float, window_s: int) -> dict[str, Rollup]:
        since = bucket_start(now - window_s, "minute")
        until = bucket_start(now, "minute") + 60
        store, ws = self._ctx.store, rule.workspace_id
        if rule.scope == "workspace":
            total = Rollup()
            for part in (await store.window_rollups(ws, "api", since, until)).values():
                total.merge(part)
            return {ws: total}
        found = await store.window_rollups(ws, rule.scope, since, until)
        if rule.scope_id is not None:  # a named scope with no traffic counts as zero
            return {rule.scope_id: found.get(rule.scope_id, Rollup())}
        return found

    async def _raise(self, rule: AlertRule, finding: Finding, now: float) -> Alert:
        at = _dt(now)
        alert = Alert(
            id=new_id("alr", now),
            workspace_id=rule.workspace_id,
            rule_id=rule.id,
            kind=rule.kind,
            scope=finding.scope,
            scope_id=finding.scope_id,
            severity=rule.severity,
            status="open",
            cause=finding.cause,
            evidence=finding.evidence(),
            dedupe_key=rules.dedupe_key(rule, finding.scope_id),
            first_seen=at,
            last_seen=at,
        )
        opened = events.Event.new(events.ALERT_OPENED, rule.workspace_id, at, _data(alert))
        stored, new = await self._ctx.store.raise_alert(alert, [opened])
        if not new:
            return stored
        self._ctx.events_written()
        log.warning(
            "alert %s opened (%s, %s): %s", stored.id, rule.kind, rule.severity, stored.cause
        )
        if rule.action is not None and finding.scope == "key":
            stored = await self._act(rule.action, stored)
        return stored

    async def _act(self, action: str, alert: Alert) -> Alert:
        cause = {"source": "alert", "reason": alert.cause[:1000], "reference": alert.id}
        outcome: dict[str, Any] = {"action": action}
        try:
            done = await self._actions.apply(
                system_principal(alert.workspace_id), alert.scope_id, action, cause
            )
            outcome["action_id"] = done.record.id
        except KeysteadError as exc:  # a key gone or refusing: say so on the alert
            outcome["error"] = str(exc)
        updated = await self._ctx.store.update_alert(
            alert.workspace_id, alert.id, {"action": outcome}
        )
        return alert if updated is None else updated


def _require(principal: Principal, permission: str) -> None:
    principal.require(permission)
    if principal.api_ids is not None or principal.owner_id is not None:
        raise Forbidden("alerts are workspace-wide: a root key narrowed to APIs or an owner")


def _known(fields: Mapping[str, Any]) -> dict[str, Any]:
    for name in fields:
        if name not in _RULE_FIELDS:
            raise ValidationError(f"unexpected field '{name}'", field=name)
    return dict(fields)


def _dt(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def _data(alert: Alert) -> dict[str, Any]:
    """What ``alert.*`` events say: the alert without its evidence records."""
    return {
        "alert_id": alert.id,
        "rule_id": alert.rule_id,
        "kind": alert.kind,
        "scope": alert.scope,
        "scope_id": alert.scope_id,
        "severity": alert.severity,
        "status": alert.status,
        "cause": alert.cause,
        "summary": alert.evidence.get("summary", {}),
    }


__all__ = ["MAX_RECORDS", "AlertService"]
