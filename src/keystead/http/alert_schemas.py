"""Bodies and answers of ``/v1/alerts``: shapes only; the service checks the
rule as a whole and names the field it refuses.

The ``Literal`` enums restate the name tuples of ``keystead.core.alerts``: a
``Literal`` is what types the field and makes the OpenAPI ``enum``, and the core
keeps plain tuples it checks at run time for every caller;
tests/http/test_schema_bounds.py fails when the two lists differ, or when a
documented range or length is not the one ``core.alerts.check_rule`` takes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt, StringConstraints

from keystead.core.alerts import MAX_BASELINE_DAYS, MAX_WINDOW_MINUTES, Alert, AlertRule
from keystead.http.fieldtypes import NoNul, RequestModel
from keystead.http.views import Timestamp

Kind = Literal[
    "threshold",
    "revoked_use",
    "brute_force",
    "new_country",
    "new_user_agent",
    "new_ip_range",
    "volume_spike",
    "error_spike",
    "bytes_spike",
    "leaked_key_used",
]
Metric = Literal["requests", "errors", "error_rate", "auth_failures", "bytes_out", "latency_p99"]
Scope = Literal["key", "owner", "api", "workspace"]
Comparator = Literal[">", ">=", "<", "<=", "==", "!="]
Severity = Literal["info", "warning", "critical"]
AlertStatus = Literal["open", "acknowledged", "resolved"]
RuleAction = Literal["disable", "rotate", "revoke"]
Name = Annotated[NoNul, StringConstraints(min_length=1, max_length=200)]
ScopeId = Annotated[NoNul, StringConstraints(min_length=1, max_length=200)]
Number = Annotated[StrictInt | StrictFloat, Field(ge=-1e18, le=1e18)]
Window = Annotated[StrictInt, Field(ge=1, le=MAX_WINDOW_MINUTES)]
Baseline = Annotated[StrictInt, Field(ge=1, le=MAX_BASELINE_DAYS)]


class RulePatch(RequestModel):
    name: Name | None = None
    severity: Severity | None = None
    window_minutes: Window | None = Field(default=None, description="the window, in minutes")
    metric: Metric | None = None
    scope: Scope | None = None
    scope_id: ScopeId | None = Field(default=None, description="one key, owner or API only")
    comparator: Comparator | None = None
    value: Number | None = Field(
        default=None,
        description="threshold: the value compared with; brute_force: failed attempts "
        "from one IP (10); volume_spike, bytes_spike: times the baseline (5); "
        "error_spike: times the baseline error rate (3)",
    )
    baseline_days: Baseline | None = Field(default=None, description="history compared with")
    action: RuleAction | None = Field(default=None, description="done to the key on opening")
    enabled: StrictBool | None = None


class RuleIn(RulePatch):
    name: Name
    kind: Kind


class RuleOut(BaseModel):
    id: str
    name: str
    kind: str
    severity: str
    window_minutes: int
    metric: str | None
    scope: str
    scope_id: str | None
    comparator: str | None
    value: float | None
    baseline_days: int
    action: str | None
    enabled: bool
    created_at: Timestamp
    updated_at: Timestamp


class RuleList(BaseModel):
    items: list[RuleOut]


class AlertOut(BaseModel):
    id: str
    rule_id: str
    kind: str
    scope: str
    scope_id: str
    severity: str
    status: str
    cause: str
    evidence: dict[str, Any] = Field(description="summary, up to 20 records, record_count")
    first_seen: Timestamp
    last_seen: Timestamp
    count: int = Field(description="evaluations that found it while unresolved")
    acknowledged_by: str | None
    acknowledged_at: Timestamp | None
    resolved_at: Timestamp | None
    action: dict[str, Any] | None


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


def rule_out(rule: AlertRule) -> RuleOut:
    """Every field of ``RuleOut`` is the rule's attribute of that name."""
    return RuleOut.model_validate(rule, from_attributes=True)


def alert_out(alert: Alert) -> AlertOut:
    """Every field of ``AlertOut`` is the alert's attribute of that name."""
    return AlertOut.model_validate(alert, from_attributes=True)


__all__ = [
    "AlertOut",
    "AlertPage",
    "AlertStatus",
    "RuleIn",
    "RuleList",
    "RuleOut",
    "RulePatch",
    "Severity",
    "alert_out",
    "rule_out",
]
