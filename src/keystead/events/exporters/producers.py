"""Usage records, alerts and audit entries as export records (the sinks redact
them too)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from keystead.core.alerts import Alert, event_data
from keystead.core.audit import AuditRecord
from keystead.core.usage import UsageRecord
from keystead.events.exporters.base import ExportRecord, Severity


def from_usage(records: Iterable[UsageRecord]) -> Iterator[ExportRecord]:
    """One ``usage`` record per verification: INFO when valid, WARNING when refused."""
    for r in records:
        yield ExportRecord(
            kind="usage",
            time=datetime.fromtimestamp(r.at, UTC),
            severity=Severity.INFO if r.code == "VALID" else Severity.WARNING,
            name=f"verify.{r.code.lower()}",
            fields={
                "workspace_id": r.workspace_id,
                "api_id": r.api_id,
                "key_id": r.key_id,
                "owner_id": r.owner_id,
                "code": r.code,
                "ip": r.ip,
                "country": r.country,
                "user_agent": r.user_agent,
                "method": r.method,
                "path": r.path,
                "status": r.status,
                "response_ms": r.response_ms,
                "bytes_in": r.bytes_in,
                "bytes_out": r.bytes_out,
            },
        )


_ALERT_SEVERITY = {
    "critical": Severity.CRITICAL,
    "warning": Severity.WARNING,
    "info": Severity.NOTICE,
}


def from_alert(alert: Alert) -> ExportRecord:
    """An alert opened (at the rule's severity) or resolved (NOTICE): its cause
    and summary; the evidence records stay in the store."""
    resolved = alert.status == "resolved"
    return ExportRecord(
        kind="alert",
        time=alert.resolved_at if resolved and alert.resolved_at else alert.last_seen,
        severity=Severity.NOTICE if resolved else _ALERT_SEVERITY[alert.severity],
        name="alert.resolved" if resolved else "alert.opened",
        fields={
            **event_data(alert),
            "workspace_id": alert.workspace_id,
            "count": alert.count,
        },
    )


def from_audit(records: Iterable[AuditRecord]) -> Iterator[ExportRecord]:
    """One ``audit`` record per management action (NOTICE)."""
    for r in records:
        yield ExportRecord(
            kind="audit",
            time=r.at,
            severity=Severity.NOTICE,
            name=r.action,
            fields={
                "id": r.id,
                "workspace_id": r.workspace_id,
                "actor": r.actor,
                "target_type": r.target_type,
                "target_id": r.target_id,
                "changes": r.changes,
                "ip": r.ip,
                "user_agent": r.user_agent,
                "request_id": r.request_id,
            },
        )


__all__ = ["from_alert", "from_audit", "from_usage"]
