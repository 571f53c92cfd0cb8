"""Alert rules and their evaluation. Pure: no I/O, no clock.

A rule is a threshold on a metric of a scope's usage over a window, or one of
the anomaly detectors, which compare a key's recent records with its own
history (its baseline). What a rule finds is a ``Finding``; the service turns
it into an alert, deduplicated on ``dedupe_key`` while the alert is unresolved.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keystead.core.usage import Rollup, UsageRecord
from keystead.errors import ValidationError

SEVERITIES = ("info", "warning", "critical")
STATUSES = ("open", "acknowledged", "resolved")
METRICS = ("requests", "errors", "error_rate", "auth_failures", "bytes_out", "latency_p99")
RULE_SCOPES = ("key", "owner", "api", "workspace")
COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
DETECTORS = (
    "revoked_use",
    "brute_force",
    "new_country",
    "new_user_agent",
    "new_ip_range",
    "volume_spike",
    "error_spike",
    "bytes_spike",
    "leaked_key_used",
)
"""Anomaly rule kinds (``keystead.core.detectors``); ``threshold`` is the other kind."""
KINDS = ("threshold", *DETECTORS)
RULE_ACTIONS = ("disable", "rotate", "revoke")
DEFAULT_VALUES: dict[str, float] = {
    "brute_force": 10,
    "volume_spike": 5,
    "error_spike": 3,
    "bytes_spike": 5,
}
"""The ``value`` of a detector rule when none is given: failed attempts from one
IP (brute_force), times the baseline (the spikes)."""
MAX_WINDOW_MINUTES = 1440
MAX_BASELINE_DAYS = 90
MAX_EVIDENCE = 20


@dataclass(slots=True, frozen=True)
class AlertRule:
    """``kind`` threshold: fires when ``metric`` of each ``scope`` (or the one
    ``scope_id``) over ``window_minutes`` compares true with ``value``. Detector
    kinds look at keys' raw records; ``value`` is their parameter."""

    id: str
    workspace_id: str
    name: str
    kind: str
    severity: str
    window_minutes: int
    created_at: datetime
    updated_at: datetime
    metric: str | None = None
    scope: str = "key"
    scope_id: str | None = None
    comparator: str | None = None
    value: float | None = None
    baseline_days: int = 30
    action: str | None = None
    enabled: bool = True


@dataclass(slots=True, frozen=True)
class Alert:
    id: str
    workspace_id: str
    rule_id: str
    kind: str
    scope: str
    scope_id: str
    severity: str
    status: str
    cause: str
    evidence: dict[str, Any]
    dedupe_key: str
    first_seen: datetime
    last_seen: datetime
    count: int = 1
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    action: dict[str, Any] | None = None
    """What the rule's automatic action did: {action, action_id} or {action, error}."""


@dataclass(slots=True, frozen=True)
class Finding:
    """One scope a rule fired for, why, and the records that show it."""

    scope: str
    scope_id: str
    cause: str
    summary: dict[str, Any]
    records: Sequence[UsageRecord] = field(default=())

    def evidence(self) -> dict[str, Any]:
        """Bounded: the summary and at most ``MAX_EVIDENCE`` records (no key)."""
        return {
            "summary": self.summary,
            "records": [record_json(r) for r in self.records[-MAX_EVIDENCE:]],
            "record_count": len(self.records),
        }


def record_json(r: UsageRecord) -> dict[str, Any]:
    return {
        "at": r.at,
        "key_id": r.key_id,
        "code": r.code,
        "ip": r.ip,
        "country": r.country,
        "user_agent": r.user_agent,
        "status": r.status,
        "bytes_out": r.bytes_out,
    }


def event_data(alert: Alert) -> dict[str, Any]:
    """What ``alert.*`` events and exports say: the alert without its evidence
    records."""
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


def dedupe_key(rule: AlertRule, scope_id: str) -> str:
    """Rule, scope and window: one unresolved alert per triple."""
    return f"{rule.id}:{scope_id}:{rule.window_minutes}m"


# validation -----------------------------------------------------------------
def check_rule(values: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's fields checked together (a full rule: create, or an update
    merged over the stored one); raise ``ValidationError`` naming the field."""
    v = dict(values)
    _one_of(v.get("kind"), KINDS, "kind")
    _one_of(v.get("severity"), SEVERITIES, "severity")
    name = v.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 200 or "\x00" in name:
        raise ValidationError("name is text of 1 to 200 characters", field="name")
    _int(v.get("window_minutes"), 1, MAX_WINDOW_MINUTES, "window_minutes")
    _int(v.get("baseline_days"), 1, MAX_BASELINE_DAYS, "baseline_days")
    if v.get("action") is not None:
        _one_of(v["action"], RULE_ACTIONS, "action")
    if not isinstance(v.get("enabled"), bool):
        raise ValidationError("enabled is true or false", field="enabled")
    scope_id = v.get("scope_id")
    if scope_id is not None and (not isinstance(scope_id, str) or not 1 <= len(scope_id) <= 200):
        raise ValidationError("scope_id is text of 1 to 200 characters", field="scope_id")
    if v["kind"] == "threshold":
        _one_of(v.get("metric"), METRICS, "metric")
        _one_of(v.get("scope"), RULE_SCOPES, "scope")
        _one_of(v.get("comparator"), tuple(COMPARATORS), "comparator")
        _number(v.get("value"), "value")
        if v["scope"] == "workspace" and scope_id is not None:
            raise ValidationError("a workspace rule names no scope_id", field="scope_id")
    else:
        for name_ in ("metric", "comparator"):
            if v.get(name_) is not None:
                raise ValidationError(f"{name_} goes with threshold rules", field=name_)
        if v.get("scope", "key") != "key":
            raise ValidationError("anomaly rules watch keys: scope is key", field="scope")
        v["scope"] = "key"
        if v.get("value") is None and v["kind"] in DEFAULT_VALUES:
            v["value"] = DEFAULT_VALUES[v["kind"]]
        if v.get("value") is not None:
            _number(v["value"], "value")
            if v["value"] <= 0:
                raise ValidationError("value is above 0", field="value")
    if v.get("action") is not None and v["scope"] != "key":
        raise ValidationError("an action needs a rule on keys (scope key)", field="action")
    return v


def _one_of(value: object, allowed: Sequence[str], name: str) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(f"{name} is one of {', '.join(allowed)}", field=name)


def _int(value: object, low: int, high: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{name} is a whole number from {low} to {high}", field=name)


def _number(value: object, name: str) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not -1e18 <= float(value) <= 1e18:  # type: ignore[arg-type]
        raise ValidationError(f"{name} is a number", field=name)


# threshold rules --------------------------------------------------------------
def metric_value(metric: str, rollup: Rollup) -> float | None:
    """``errors``: responses with a 5xx status; ``error_rate``: their share of the
    responses that carry a status; ``auth_failures``: verifications not VALID."""
    if metric == "requests":
        return float(rollup.count)
    if metric == "errors":
        return float(rollup.statuses.get("5xx", 0))
    if metric == "error_rate":
        answered = sum(rollup.statuses.values())
        return None if answered == 0 else rollup.statuses.get("5xx", 0) / answered
    if metric == "auth_failures":
        return float(rollup.count - rollup.codes.get("VALID", 0))
    if metric == "bytes_out":
        return float(rollup.bytes_out)
    return rollup.percentile(0.99)


def threshold(rule: AlertRule, windows: Mapping[str, Rollup]) -> list[Finding]:
    """The scopes (of ``windows``: scope id -> the window's merged rollup) whose
    metric compares true with the rule's value."""
    if rule.metric is None or rule.comparator is None or rule.value is None:
        return []  # not a threshold rule
    compare = COMPARATORS[rule.comparator]
    found = []
    for scope_id, rollup in sorted(windows.items()):
        observed = metric_value(rule.metric, rollup)
        if observed is not None and compare(observed, rule.value):
            cause = (
                f"{rule.metric} of {rule.scope} {scope_id} over {rule.window_minutes} min "
                f"was {observed:g} ({rule.comparator} {rule.value:g})"
            )
            summary = {"metric": rule.metric, "observed": observed, "requests": rollup.count}
            found.append(Finding(rule.scope, scope_id, cause, summary))
    return found


__all__ = [
    "COMPARATORS",
    "DETECTORS",
    "KINDS",
    "MAX_EVIDENCE",
    "METRICS",
    "RULE_ACTIONS",
    "RULE_SCOPES",
    "SEVERITIES",
    "STATUSES",
    "Alert",
    "AlertRule",
    "Finding",
    "check_rule",
    "dedupe_key",
    "event_data",
    "metric_value",
    "record_json",
    "threshold",
]
