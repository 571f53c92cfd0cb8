"""Webhooks, deliveries and attempts as the JSON the HTTP API answers (so local and
remote output match), and what the human output shows of them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from keystead.cli._output import Column
from keystead.cli._serialize import time_text
from keystead.store.webhooks import Delivery, DeliveryAttempt, Webhook

if TYPE_CHECKING:  # the service loads only when a command needs the local store
    from keystead.service.webhooks import CreatedWebhook, DeliveryDetail

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


def webhook(item: Webhook) -> Json:
    return {
        "id": item.id,
        "url": item.url,
        "events": list(item.events),
        "description": item.description,
        "enabled": item.enabled,
        "created_at": time_text(item.created_at),
        "updated_at": time_text(item.updated_at),
        "old_secret_expires_at": time_text(item.old_secret_expires_at)
        if item.sealed_old_secret is not None
        else None,
    }


def created_webhook(created: CreatedWebhook) -> Json:
    return {**webhook(created.webhook), "secret": created.secret}


def delivery(item: Delivery) -> Json:
    return {
        "id": item.id,
        "webhook_id": item.webhook_id,
        "event_id": item.event_id,
        "event_type": item.event_type,
        "status": item.status,
        "attempt_count": item.attempts,
        "next_attempt_at": time_text(item.next_attempt_at),
        "last_attempt_at": time_text(item.last_attempt_at),
        "last_status_code": item.last_status_code,
        "last_error": item.last_error,
        "payload": json.loads(item.body),
        "created_at": time_text(item.created_at),
        "updated_at": time_text(item.updated_at),
    }


def attempt(item: DeliveryAttempt) -> Json:
    return {
        "id": item.id,
        "attempted_at": time_text(item.attempted_at),
        "status_code": item.status_code,
        "error": item.error,
        "duration_ms": item.duration_ms,
        "response_body": item.response_body,
        "succeeded": item.succeeded,
    }


def delivery_detail(detail: DeliveryDetail) -> Json:
    return {**delivery(detail.delivery), "attempts": [attempt(a) for a in detail.attempts]}


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
    "attempt",
    "attempt_row",
    "created_webhook",
    "delivery",
    "delivery_detail",
    "delivery_row",
    "result_text",
    "webhook",
]
