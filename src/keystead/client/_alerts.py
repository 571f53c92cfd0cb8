"""The calls of alerts: rules, alerts, acknowledge and resolve."""

from __future__ import annotations

from typing import Any

from keystead.client._call import (
    Call,
    endpoint,
    get,
    post,
    read_items,
    read_nothing,
    read_object,
    seg,
)


class AlertsApi:
    @endpoint(("POST", "/v1/alerts/rules"))
    def create_alert_rule(self, /, **fields: Any) -> Call[dict[str, Any]]:
        """``name``, ``kind`` and the kind's fields (docs/monitoring.md)."""
        return post("/v1/alerts/rules", read_object, fields)

    @endpoint(("GET", "/v1/alerts/rules"))
    def list_alert_rules(self) -> Call[list[dict[str, Any]]]:
        return get("/v1/alerts/rules", read_items)

    @endpoint(("GET", "/v1/alerts/rules/{rule_id}"))
    def get_alert_rule(self, rule_id: str) -> Call[dict[str, Any]]:
        return get(f"/v1/alerts/rules/{seg(rule_id)}", read_object)

    @endpoint(("PATCH", "/v1/alerts/rules/{rule_id}"))
    def update_alert_rule(self, /, rule_id: str, **changes: Any) -> Call[dict[str, Any]]:
        return Call("PATCH", f"/v1/alerts/rules/{seg(rule_id)}", read_object, json=changes)

    @endpoint(("DELETE", "/v1/alerts/rules/{rule_id}"))
    def delete_alert_rule(self, rule_id: str) -> Call[None]:
        return Call("DELETE", f"/v1/alerts/rules/{seg(rule_id)}", read_nothing)

    @endpoint(("GET", "/v1/alerts"))
    def list_alerts(
        self,
        *,
        status: str | None = None,
        severity: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Call[dict[str, Any]]:
        """One page, oldest first: ``{"items": [...], "next_cursor": ...}``."""
        return get(
            "/v1/alerts", read_object, status=status, severity=severity, cursor=cursor, limit=limit
        )

    @endpoint(("GET", "/v1/alerts/{alert_id}"))
    def get_alert(self, alert_id: str) -> Call[dict[str, Any]]:
        return get(f"/v1/alerts/{seg(alert_id)}", read_object)

    @endpoint(("POST", "/v1/alerts/{alert_id}/acknowledge"))
    def acknowledge_alert(self, alert_id: str) -> Call[dict[str, Any]]:
        return post(f"/v1/alerts/{seg(alert_id)}/acknowledge", read_object)

    @endpoint(("POST", "/v1/alerts/{alert_id}/resolve"))
    def resolve_alert(self, alert_id: str) -> Call[dict[str, Any]]:
        return post(f"/v1/alerts/{seg(alert_id)}/resolve", read_object)


__all__ = ["AlertsApi"]
