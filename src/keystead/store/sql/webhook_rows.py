"""Rows of the webhook tables to records. SQLite returns naive datetimes: they are UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from keystead.core.at_rest import key_version_of
from keystead.store.sql.rows import aware
from keystead.store.webhooks import Delivery, DeliveryAttempt, Webhook


def _stamp(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def webhook(row: sa.Row[Any]) -> Webhook:
    return Webhook(
        id=row.id,
        workspace_id=row.workspace_id,
        url=row.url,
        events=tuple(row.events),
        description=row.description,
        enabled=bool(row.enabled),
        created_at=_stamp(row.created_at),
        updated_at=_stamp(row.updated_at),
        sealed_secret=bytes(row.secret),
        sealed_old_secret=None if row.old_secret is None else bytes(row.old_secret),
        old_secret_expires_at=aware(row.old_secret_expires_at),
    )


def webhook_values(item: Webhook) -> dict[str, Any]:
    return {
        "id": item.id,
        "workspace_id": item.workspace_id,
        "url": item.url,
        "events": list(item.events),
        "description": item.description,
        "enabled": item.enabled,
        "secret": item.sealed_secret,
        "old_secret": item.sealed_old_secret,
        "old_secret_expires_at": item.old_secret_expires_at,
        "key_version": key_version_of(item.sealed_secret),
        "old_key_version": key_version_of(item.sealed_old_secret),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def delivery(row: sa.Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        workspace_id=row.workspace_id,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        event_type=row.event_type,
        body=row.body,
        status=row.status,
        attempts=int(row.attempts),
        next_attempt_at=aware(row.next_attempt_at),
        last_attempt_at=aware(row.last_attempt_at),
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=_stamp(row.created_at),
        updated_at=_stamp(row.updated_at),
    )


def attempt(row: sa.Row[Any]) -> DeliveryAttempt:
    return DeliveryAttempt(
        id=row.id,
        delivery_id=row.delivery_id,
        attempted_at=_stamp(row.attempted_at),
        status_code=row.status_code,
        error=row.error,
        duration_ms=int(row.duration_ms),
        response_body=row.response_body,
        succeeded=bool(row.succeeded),
    )


def attempt_values(item: DeliveryAttempt) -> dict[str, Any]:
    return {
        "id": item.id,
        "delivery_id": item.delivery_id,
        "attempted_at": item.attempted_at,
        "status_code": item.status_code,
        "error": item.error,
        "duration_ms": item.duration_ms,
        "response_body": item.response_body,
        "succeeded": item.succeeded,
    }


__all__ = ["attempt", "attempt_values", "delivery", "webhook", "webhook_values"]
