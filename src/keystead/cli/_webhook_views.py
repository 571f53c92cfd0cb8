"""What the human output shows of webhooks, deliveries and attempts (the JSON is
the HTTP API's answer, printed as it comes)."""

from __future__ import annotations

from typing import Any

from keystead.cli._output import Column

Json = dict[str, Any]

WEBHOOK_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("URL", "url"),
    ("Events", "events"),
    ("Enabled", "enabled"),
    ("Description", "description"),
]
WEBHOOK_FIELDS: list[Column] = [
    *WEBHOOK_COLUMNS,
    ("Old secret until", "old_secret_expires_at"),
    ("Created", "created_at"),
    ("Updated", "updated_at"),
]
DELIVERY_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("Webhook", "webhook_id"),
    ("Event", "event_type"),
    ("Status", "status"),
    ("Attempts", "attempt_count"),
    ("Last", "last_result"),
    ("Next attempt", "next_attempt_at"),
]
DELIVERY_FIELDS: list[Column] = [
    ("ID", "id"),
    ("Webhook", "webhook_id"),
    ("Event id", "event_id"),
    ("Event", "event_type"),
    ("Status", "status"),
    ("Attempts", "attempt_count"),
    ("Last result", "last_result"),
    ("Last attempt", "last_attempt_at"),
    ("Next attempt", "next_attempt_at"),
    ("Created", "created_at"),
    ("Payload", "payload"),
]
ATTEMPT_COLUMNS: list[Column] = [
    ("At", "attempted_at"),
    ("Result", "result"),
    ("ms", "duration_ms"),
    ("Answer", "response_body"),
]


def result_text(item: Json, code: str, error: str) -> str | None:
    """``HTTP 500``, ``timeout``, or nothing yet."""
    if item.get(code) is not None:
        return f"HTTP {item[code]}"
    value = item.get(error)
    return None if value is None else str(value)


def delivery_row(item: Json) -> Json:
    return {**item, "last_result": result_text(item, "last_status_code", "last_error")}


def attempt_row(item: Json) -> Json:
    return {**item, "result": result_text(item, "status_code", "error")}


__all__ = [
    "ATTEMPT_COLUMNS",
    "DELIVERY_COLUMNS",
    "DELIVERY_FIELDS",
    "WEBHOOK_COLUMNS",
    "WEBHOOK_FIELDS",
    "attempt_row",
    "delivery_row",
    "result_text",
]
