"""Client methods for alerts: rules, alerts, acknowledge and resolve."""

from __future__ import annotations

from typing import Any

from keystead.client._base import BaseClient, compact, seg


class AlertsClient(BaseClient):
    def create_alert_rule(self, **fields: Any) -> dict[str, Any]:
        """``name``, ``kind`` and the kind's fields (docs/monitoring.md)."""
        return self._object("POST", "/v1/alerts/rules", json=fields)

    def list_alert_rules(self) -> list[dict[str, Any]]:
        return self._items("GET", "/v1/alerts/rules")

    def get_alert_rule(self, rule_id: str) -> dict[str, Any]:
        return self._object("GET", f"/v1/alerts/rules/{seg(rule_id)}")

    def update_alert_rule(self, rule_id: str, **changes: Any) -> dict[str, Any]:
        return self._object("PATCH", f"/v1/alerts/rules/{seg(rule_id)}", json=changes)

    def delete_alert_rule(self, rule_id: str) -> None:
        self._send("DELETE", f"/v1/alerts/rules/{seg(rule_id)}")

    def list_alerts(
        self,
        *,
        status: str | None = None,
        severity: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """One page, oldest first: ``{"items": [...], "next_cursor": ...}``."""
        params = compact(status=status, severity=severity, cursor=cursor, limit=limit)
        return self._object("GET", "/v1/alerts", params=params)

    def get_alert(self, alert_id: str) -> dict[str, Any]:
        return self._object("GET", f"/v1/alerts/{seg(alert_id)}")

    def acknowledge_alert(self, alert_id: str) -> dict[str, Any]:
        return self._object("POST", f"/v1/alerts/{seg(alert_id)}/acknowledge")

    def resolve_alert(self, alert_id: str) -> dict[str, Any]:
        return self._object("POST", f"/v1/alerts/{seg(alert_id)}/resolve")


__all__ = ["AlertsClient"]
