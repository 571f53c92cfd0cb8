"""Lifecycle events: what the outbox holds and webhooks deliver.

An event is written in the same transaction as the change it describes, so a
change is never stored without its event, nor an event without its change.
Its data names keys by id and ``start``: never a plaintext key or secret (a
new key travels only as a JWE encrypted to its owner, see docs/lifecycle.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keystead.core.ids import new_id
from keystead.core.models import Key

KEY_CREATED = "key.created"
KEY_UPDATED = "key.updated"
KEY_ROTATED = "key.rotated"
KEY_REVOKED = "key.revoked"
KEY_DISABLED = "key.disabled"
KEY_ENABLED = "key.enabled"
KEY_DELETED = "key.deleted"
KEY_EXPIRING = "key.expiring"
KEY_EXPIRED = "key.expired"
KEY_COMPROMISED = "key.compromised"
RATELIMIT_EXCEEDED = "ratelimit.exceeded"
QUOTA_EXCEEDED = "quota.exceeded"
ALERT_OPENED = "alert.opened"
ALERT_RESOLVED = "alert.resolved"
SECRET_CREATED = "secret.created"  # noqa: S105 - an event type
SECRET_UPDATED = "secret.updated"  # noqa: S105 - an event type
SECRET_DELETED = "secret.deleted"  # noqa: S105 - an event type
SECRET_DESTROYED = "secret.destroyed"  # noqa: S105 - an event type
TRANSIT_KEY_CREATED = "transit_key.created"
TRANSIT_KEY_ROTATED = "transit_key.rotated"
TRANSIT_KEY_DELETED = "transit_key.deleted"
SECRET_ROTATION_DUE = "secret.rotation_due"  # noqa: S105 - an event type

EVENT_TYPES: tuple[str, ...] = (
    KEY_CREATED,
    KEY_UPDATED,
    KEY_ROTATED,
    KEY_REVOKED,
    KEY_DISABLED,
    KEY_ENABLED,
    KEY_DELETED,
    KEY_EXPIRING,
    KEY_EXPIRED,
    KEY_COMPROMISED,
    RATELIMIT_EXCEEDED,
    QUOTA_EXCEEDED,
    ALERT_OPENED,
    ALERT_RESOLVED,
    SECRET_CREATED,
    SECRET_UPDATED,
    SECRET_DELETED,
    SECRET_DESTROYED,
    TRANSIT_KEY_CREATED,
    TRANSIT_KEY_ROTATED,
    TRANSIT_KEY_DELETED,
    SECRET_ROTATION_DUE,
)


@dataclass(slots=True, frozen=True)
class Event:
    """One thing that happened in a workspace; ``id`` is time-ordered (``evt_``)."""

    id: str
    type: str
    workspace_id: str
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, type_: str, workspace_id: str, at: datetime, data: dict[str, Any]) -> Event:
        return cls(new_id("evt", at.timestamp()), type_, workspace_id, at, data)

    def payload(self) -> dict[str, Any]:
        """The JSON body a webhook receives (Standard Webhooks shape)."""
        return {"type": self.type, "timestamp": self.created_at.isoformat(), "data": self.data}


def key_summary(key: Key) -> dict[str, Any]:
    """What events say about a key: identifiers and state, no secret."""
    return {
        "key_id": key.id,
        "api_id": key.api_id,
        "start": key.start,
        "name": key.name,
        "owner_id": key.owner_id,
        "expires_at": None if key.expires_at is None else key.expires_at.isoformat(),
        "rotated_from": key.rotated_from,
        "rotated_to": key.rotated_to,
    }


def secret_event(
    type_: str, workspace_id: str, mount: str, path: str, at: datetime, versions: list[int]
) -> Event:
    """What events say about a secret: where it lives and which versions, never a value."""
    return Event.new(type_, workspace_id, at, {"mount": mount, "path": path, "versions": versions})


def transit_key_event(
    type_: str, workspace_id: str, mount: str, name: str, at: datetime, version: int
) -> Event:
    """What events say about a transit key: which key and version, never material."""
    return Event.new(type_, workspace_id, at, {"mount": mount, "name": name, "version": version})


def key_event(type_: str, key: Key, at: datetime, **extra: Any) -> Event:
    return Event.new(type_, key.workspace_id, at, {**key_summary(key), **extra})


__all__ = [
    "ALERT_OPENED",
    "ALERT_RESOLVED",
    "EVENT_TYPES",
    "KEY_COMPROMISED",
    "KEY_CREATED",
    "KEY_DELETED",
    "KEY_DISABLED",
    "KEY_ENABLED",
    "KEY_EXPIRED",
    "KEY_EXPIRING",
    "KEY_REVOKED",
    "KEY_ROTATED",
    "KEY_UPDATED",
    "QUOTA_EXCEEDED",
    "RATELIMIT_EXCEEDED",
    "SECRET_CREATED",
    "SECRET_DELETED",
    "SECRET_DESTROYED",
    "SECRET_ROTATION_DUE",
    "SECRET_UPDATED",
    "TRANSIT_KEY_CREATED",
    "TRANSIT_KEY_DELETED",
    "TRANSIT_KEY_ROTATED",
    "Event",
    "key_event",
    "key_summary",
    "secret_event",
    "transit_key_event",
]
