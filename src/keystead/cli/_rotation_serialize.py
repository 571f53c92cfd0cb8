"""Rotation answers of the local backend, in the HTTP API's shapes."""

from __future__ import annotations

from keystead.cli._serialize import Json, created_key, key, time_text
from keystead.service.rotation import Rotation
from keystead.service.scheduler import DueKey


def rotation(result: Rotation, now: float) -> Json:
    """The successor (with its plaintext, revealed this once) and the old key."""
    return {
        **created_key(result.new, now),
        "grace_ends_at": time_text(result.grace_ends_at),
        "old_key": key(result.old, now),
    }


def due_key(due: DueKey) -> Json:
    item = due.candidate.key
    return {
        "key_id": item.id,
        "start": item.start,
        "api_id": item.api_id,
        "owner_id": item.owner_id,
        "due_at": time_text(due.due_at),
        "new_key_id": due.new_key_id,
        "pickup_id": due.pickup_id,
    }


__all__ = ["due_key", "rotation"]
