"""Evaluating alert rules: a rule's findings over the window ending now, the
alerts they open or refresh, the rule's action, and automatic resolution.

Opening an alert writes ``alert.opened`` to the outbox in the same transaction
and logs it at WARNING (ids and causes only, never key material); a rule's
optional action (disable, rotate, revoke) then goes through the one door,
``LifecycleActions.apply``, once per alert. An unresolved alert its rule has
not found again for one whole window is resolved by the scheduler
(``alert.resolved``). Details: docs/monitoring.md.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from keystead.core import alerts as rules
from keystead.core import detectors, events, exposure
from keystead.core.alerts import Alert, AlertRule, Finding
from keystead.core.authz import Principal
from keystead.core.detectors import Baseline
from keystead.core.ids import new_id
from keystead.core.usage import Rollup, UsageRecord, bucket_start
from keystead.errors import KeysteadError
from keystead.service.actions import LifecycleActions
from keystead.service.context import ServiceContext
from keystead.service.leak_times import leak_times
from keystead.service.scheduler import system_principal

log = logging.getLogger("keystead.alerts")
MAX_RECORDS = 20_000
"""Raw records read per workspace and window; past it, the newest are not seen."""
_DAY_S = 86_400
MIN_BASELINE_S = 7_200
_SEEN_COLUMNS = {"new_country": "country", "new_user_agent": "user_agent", "new_ip_range": "ip"}

Notify = Callable[[Alert], None]


class AlertEvaluator:
    def __init__(self, ctx: ServiceContext, actions: LifecycleActions, notify: Notify) -> None:
        self._ctx = ctx
        self._actions = actions
        self._notify = notify

    async def evaluate(self, now: float | None = None) -> list[Alert]:
        """Run every enabled rule over the window ending at ``now``; the alerts
        opened or updated. A rule that fails is logged and skipped (its alerts
        are then not resolved either: silence is not evidence)."""
        at = self._ctx.clock.now() if now is None else now
        raised: list[Alert] = []
        cache: dict[tuple[str, int], list[UsageRecord]] = {}
        for rule in await self._ctx.store.list_alert_rules(None):
            try:
                findings = await self._findings(rule, at, cache)
                for finding in findings:
                    raised.append(await self._raise(rule, finding, at))
                await self._resolve_quiet(rule, at)
            except KeysteadError as exc:
                log.error("alert rule %s failed: %s", rule.id, exc)
        return raised

    # findings -------------------------------------------------------------------
    async def _findings(
        self, rule: AlertRule, now: float, cache: dict[tuple[str, int], list[UsageRecord]]
    ) -> list[Finding]:
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
            return detectors.revoked_use(records)
        if rule.kind == "brute_force":
            return detectors.brute_force(records, value)
        if rule.kind == "leaked_key_used":
            used = {r.key_id for r in records if r.key_id is not None}
            leaks = await leak_times(self._ctx.store, rule.workspace_id, used)
            return exposure.leaked_use(records, leaks)
        key_ids = sorted({r.key_id for r in records if r.key_id is not None})
        if not key_ids:
            return []
        start = now - window_s
        if rule.kind in _SEEN_COLUMNS:
            column = _SEEN_COLUMNS[rule.kind]
            seen = await self._ctx.store.usage_seen(
                rule.workspace_id,
                key_ids,
                column,
                _dt(start - rule.baseline_days * _DAY_S),
                _dt(start),
            )
            if rule.kind == "new_ip_range":
                seen = {k: {detectors.ip_range(ip) for ip in ips} for k, ips in seen.items()}
                return detectors.first_seen(records, seen, "ip_range")
            return detectors.first_seen(records, seen, column)
        baselines = await self._baselines(rule, key_ids, start)
        if rule.kind == "volume_spike":
            return detectors.volume_spike(records, baselines, window_s, value)
        if rule.kind == "bytes_spike":
            return detectors.bytes_spike(records, baselines, window_s, value)
        return detectors.error_spike(records, baselines, value)

    async def _baselines(
        self, rule: AlertRule, key_ids: list[str], window_start: float
    ) -> dict[str, Baseline]:
        """Each key's whole hours before the window, from its first hour with
        traffic within ``baseline_days``: a young key is held to its own short
        history, not averaged over days it did not exist. A key whose history
        spans fewer than ``MIN_BASELINE_S`` (two hour buckets) has none."""
        until = bucket_start(window_start, "hour")
        since = bucket_start(window_start - rule.baseline_days * _DAY_S, "hour")
        found = await self._ctx.store.baseline_rollups(rule.workspace_id, key_ids, since, until)
        return {
            key_id: Baseline(seconds=until - first, rollup=rollup)
            for key_id, (first, rollup) in found.items()
            if until - first >= MIN_BASELINE_S
        }

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

    # alerts ---------------------------------------------------------------------
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
        opened = events.Event.new(
            events.ALERT_OPENED, rule.workspace_id, at, rules.event_data(alert)
        )
        stored, new = await self._ctx.store.raise_alert(alert, [opened])
        if not new:
            return stored
        self._ctx.events_written()
        log.warning(
            "alert %s opened (%s, %s): %s", stored.id, rule.kind, rule.severity, stored.cause
        )
        self._notify(stored)
        if rule.action is not None and finding.scope == "key":
            stored = await self._act(rule.action, stored)
        return stored

    async def _resolve_quiet(self, rule: AlertRule, now: float) -> None:
        """Resolve the rule's alerts not found again for one whole window."""
        quiet_since = _dt(now - rule.window_minutes * 60)
        for alert in await self._ctx.store.stale_alerts(rule.id, quiet_since):
            principal = system_principal(alert.workspace_id)
            resolved = await resolve_alert(
                self._ctx, principal, alert, "alert.auto_resolve", unseen_since=quiet_since
            )
            if resolved is not None:
                log.info("alert %s resolved: quiet for %d min", alert.id, rule.window_minutes)
                self._notify(resolved)

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


async def resolve_alert(
    ctx: ServiceContext,
    principal: Principal,
    alert: Alert,
    action: str,
    *,
    unseen_since: datetime | None = None,
) -> Alert | None:
    """Resolve ``alert``, audited as ``action``, with ``alert.resolved`` in the
    same transaction. With ``unseen_since`` (automatic resolution), nothing is
    written if the alert was seen again or resolved meanwhile: ``None``."""
    now = ctx.now()
    values = {"status": "resolved", "open_key": None, "resolved_at": now}
    done = dataclasses.replace(alert, status="resolved", resolved_at=now)
    event = events.Event.new(events.ALERT_RESOLVED, alert.workspace_id, now, rules.event_data(done))
    ctx.audit(
        principal,
        action,
        "alert",
        alert.id,
        before={"status": alert.status},
        after={"status": "resolved", "resolved_at": now},
    )
    updated = await ctx.store.update_alert(
        alert.workspace_id, alert.id, values, [event], unseen_since=unseen_since
    )
    if updated is not None:
        ctx.events_written()
    return updated


def _dt(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


__all__ = [
    "MAX_RECORDS",
    "MIN_BASELINE_S",
    "AlertEvaluator",
    "Notify",
    "resolve_alert",
]
