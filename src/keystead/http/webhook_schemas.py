"""Request and response bodies of ``/v1/webhooks``.

Only ``CreatedWebhookOut`` carries a ``secret``: the answers of creation and of
rotate-secret. The service checks the meaning (URL shape, known event types).
The bounds and the default overlap are ``keystead.service.webhook_fields``' own;
the service checks them again for the library and the CLI, which call it
without these models.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBool, StrictInt, StringConstraints

from keystead.http.fieldtypes import Description, NoNul, RequestModel
from keystead.http.views import Timestamp
from keystead.service.webhook_fields import DEFAULT_OVERLAP_S, MAX_OVERLAP_S, MAX_URL
from keystead.service.webhooks import CreatedWebhook, DeliveryDetail
from keystead.store.webhooks import Delivery, DeliveryAttempt, Webhook

_EVENTS_DOC = 'event types to receive, e.g. ["key.revoked", "key.rotated"]; ["*"] for all'
Url = Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL)]
EventType = Annotated[NoNul, StringConstraints(max_length=64)]
EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=64)]


class WebhookCreate(RequestModel):
    url: Url = Field(description="where deliveries are POSTed: an http(s) URL")
    events: EventTypes = Field(description=_EVENTS_DOC)
    description: Description | None = None
    enabled: StrictBool = True


class WebhookUpdate(RequestModel):
    """Partial: an omitted field is kept; ``description: null`` clears it."""

    url: Url | None = None
    events: EventTypes | None = None
    description: Description | None = None
    enabled: StrictBool | None = None


class SecretRotation(RequestModel):
    expire_old_after_s: StrictInt = Field(
        default=DEFAULT_OVERLAP_S,
        description=f"seconds the old secret still signs deliveries (0 to {MAX_OVERLAP_S})",
    )


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    created_at: Timestamp
    updated_at: Timestamp
    old_secret_expires_at: Timestamp | None = Field(
        description="until then deliveries are also signed with the previous secret"
    )


class CreatedWebhookOut(WebhookOut):
    secret: str = Field(
        repr=False, description="the signing secret (whsec_...): shown this once, never again"
    )


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: str
    webhook_id: str
    event_id: str = Field(description="also the webhook-id header: dedupe on it")
    event_type: str
    status: str = Field(description="pending, failed (retry due), succeeded or dead")
    attempt_count: int = Field(description="attempts since the delivery was (re)queued")
    next_attempt_at: Timestamp | None
    last_attempt_at: Timestamp | None
    last_status_code: int | None
    last_error: str | None = Field(description="timeout, or the class of connection error")
    payload: dict[str, Any] = Field(description="the body sent: {type, timestamp, data}")
    created_at: Timestamp
    updated_at: Timestamp


class AttemptOut(BaseModel):
    id: str
    attempted_at: Timestamp
    status_code: int | None
    error: str | None
    duration_ms: int
    response_body: str | None = Field(description="the first 1 KiB of the answer")
    succeeded: bool


class DeliveryDetailOut(DeliveryOut):
    attempts: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


def webhook_out(item: Webhook) -> WebhookOut:
    return WebhookOut(**_webhook_fields(item))


def created_webhook_out(created: CreatedWebhook) -> CreatedWebhookOut:
    return CreatedWebhookOut(**_webhook_fields(created.webhook), secret=created.secret)


def _webhook_fields(item: Webhook) -> dict[str, Any]:
    return {
        "id": item.id,
        "url": item.url,
        "events": list(item.events),
        "description": item.description,
        "enabled": item.enabled,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "old_secret_expires_at": item.old_secret_expires_at
        if item.sealed_old_secret is not None
        else None,
    }


def delivery_out(item: Delivery) -> DeliveryOut:
    return DeliveryOut(**_delivery_fields(item))


def delivery_detail_out(detail: DeliveryDetail) -> DeliveryDetailOut:
    return DeliveryDetailOut(
        **_delivery_fields(detail.delivery),
        attempts=[attempt_out(a) for a in detail.attempts],
    )


def attempt_out(item: DeliveryAttempt) -> AttemptOut:
    """Every field of ``AttemptOut`` is the attempt's attribute of that name."""
    return AttemptOut.model_validate(item, from_attributes=True)


def _delivery_fields(item: Delivery) -> dict[str, Any]:
    return {
        "id": item.id,
        "webhook_id": item.webhook_id,
        "event_id": item.event_id,
        "event_type": item.event_type,
        "status": item.status,
        "attempt_count": item.attempts,
        "next_attempt_at": item.next_attempt_at,
        "last_attempt_at": item.last_attempt_at,
        "last_status_code": item.last_status_code,
        "last_error": item.last_error,
        "payload": json.loads(item.body),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


__all__ = [
    "AttemptOut",
    "CreatedWebhookOut",
    "DeliveryDetailOut",
    "DeliveryOut",
    "DeliveryPage",
    "SecretRotation",
    "WebhookCreate",
    "WebhookList",
    "WebhookOut",
    "WebhookUpdate",
    "attempt_out",
    "created_webhook_out",
    "delivery_detail_out",
    "delivery_out",
    "webhook_out",
]
