"""The store interface of webhooks: endpoints, deliveries and their attempts.

Secrets are stored sealed (AES-256-GCM, see ``keystead.events.webhooks.sealing``):
the store never sees a webhook secret in plaintext, and no record here prints one.

``WebhookStore`` is a protocol apart from the SQL code because it is part of ``Store``,
the one interface the service holds and a second backend implements.
tests/store/test_store_protocol.py holds ``SqlStore`` to it, signature by signature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from keystead.core.events import Event

DeliveryStatus = Literal["pending", "succeeded", "failed", "dead"]
DELIVERY_STATUSES: tuple[str, ...] = ("pending", "succeeded", "failed", "dead")
"""pending: queued, not tried yet; failed: an attempt failed, another is due at
``next_attempt_at``; succeeded: a 2xx answer; dead: out of attempts (the dead letter)."""
DUE_STATUSES: tuple[str, ...] = ("pending", "failed")
REPLAYABLE_STATUSES: tuple[str, ...] = ("failed", "dead", "succeeded")


@dataclass(slots=True, frozen=True)
class Webhook:
    """An endpoint of a workspace and the event types it subscribes to (``*``: all)."""

    id: str
    workspace_id: str
    url: str
    events: tuple[str, ...]
    description: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    sealed_secret: bytes = field(repr=False)
    sealed_old_secret: bytes | None = field(default=None, repr=False)
    old_secret_expires_at: datetime | None = None

    def wants(self, event_type: str) -> bool:
        return self.enabled and ("*" in self.events or event_type in self.events)


@dataclass(slots=True, frozen=True)
class Delivery:
    """One event for one endpoint. ``body`` is the exact JSON sent on every attempt."""

    id: str
    workspace_id: str
    webhook_id: str
    event_id: str
    event_type: str
    body: str
    status: str
    attempts: int
    """Attempts in the current budget (a replay starts a new budget)."""
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True, frozen=True)
class DeliveryAttempt:
    """One HTTP exchange: a status code, or the class of error (``timeout``...)."""

    id: str
    delivery_id: str
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    response_body: str | None
    succeeded: bool


@dataclass(slots=True, frozen=True)
class ClaimedDelivery:
    """A due delivery this node won the right to attempt (until its lease ends),
    with where to send it and the sealed secrets to sign it with."""

    delivery: Delivery
    claim: str
    url: str
    sealed_secret: bytes = field(repr=False)
    sealed_old_secret: bytes | None = field(default=None, repr=False)


@dataclass(slots=True, frozen=True)
class AttemptOutcome:
    """What to store after an attempt: the attempt and the delivery's new state."""

    attempt: DeliveryAttempt
    status: str
    attempts: int
    next_attempt_at: datetime | None


class WebhookStore(Protocol):
    async def insert_webhook(self, webhook: Webhook) -> None: ...
    async def get_webhook(self, workspace_id: str, webhook_id: str) -> Webhook | None: ...
    async def list_webhooks(self, workspace_id: str) -> list[Webhook]: ...
    async def update_webhook(
        self, workspace_id: str, webhook_id: str, values: Mapping[str, Any]
    ) -> Webhook | None: ...
    async def delete_webhook(self, workspace_id: str, webhook_id: str) -> bool: ...

    async def fan_out_events(
        self,
        now: datetime,
        *,
        limit: int,
        render: Callable[[Event], str],
        new_delivery_id: Callable[[], str],
    ) -> int: ...
    async def claim_deliveries(
        self, now: datetime, *, lease_until: datetime, limit: int, claim: str
    ) -> list[ClaimedDelivery]: ...
    async def record_attempt(
        self, delivery_id: str, claim: str, outcome: AttemptOutcome, now: datetime
    ) -> bool: ...

    async def list_deliveries(
        self,
        workspace_id: str,
        *,
        webhook_id: str | None,
        status: str | None,
        after: str | None,
        limit: int,
    ) -> list[Delivery]: ...
    async def get_delivery(self, workspace_id: str, delivery_id: str) -> Delivery | None: ...
    async def list_attempts(self, delivery_id: str) -> list[DeliveryAttempt]: ...
    async def replay_delivery(
        self, workspace_id: str, delivery_id: str, now: datetime
    ) -> tuple[bool, Delivery | None]: ...


__all__ = [
    "DELIVERY_STATUSES",
    "DUE_STATUSES",
    "REPLAYABLE_STATUSES",
    "AttemptOutcome",
    "ClaimedDelivery",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryStatus",
    "Webhook",
    "WebhookStore",
]
