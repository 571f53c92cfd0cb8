"""Custody records as the JSON the HTTP API answers (``http/custody_views.py``),
so the local backend prints what the remote one does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from keystead.cli import _serialize as ser
from keystead.core.models import Owner, Pickup, RootKey
from keystead.service.actions import ActionResult
from keystead.service.incidents import Compromise
from keystead.service.pickups import ClaimedKey
from keystead.store.custody import Incident, KeyAction

Json = dict[str, Any]


def owner(item: Owner) -> Json:
    return {**ser.owner(item), "public_jwk": item.public_jwk}


def root_key(item: RootKey) -> Json:
    return {**ser.root_key(item), "owner_id": item.owner_id}


def pickup(item: Pickup, now: datetime) -> Json:
    state = "pending"
    if item.claimed_at is not None:
        state = "claimed"
    elif item.ciphertext is None or item.expires_at <= now:
        state = "expired"
    return {
        "id": item.id,
        "key_id": item.key_id,
        "owner_id": item.owner_id,
        "format": item.format,
        "state": state,
        "created_at": ser.time_text(item.created_at),
        "expires_at": ser.time_text(item.expires_at),
        "claimed_at": ser.time_text(item.claimed_at),
    }


def claim(item: ClaimedKey) -> Json:
    """The one-time reveal of a held key."""
    return {
        "pickup_id": item.pickup.id,
        "key_id": item.pickup.key_id,
        "format": item.pickup.format,
        "key": item.key,
        "jwe": item.jwe,
    }


def key_action(item: KeyAction) -> Json:
    return {
        "id": item.id,
        "key_id": item.key_id,
        "action": item.action,
        "cause": item.cause,
        "actor": item.actor,
        "result": item.result,
        "created_at": ser.time_text(item.created_at),
    }


def action_result(item: ActionResult, now: float) -> Json:
    return {**key_action(item.record), "state": item.key.state_at(now)}


def incident(item: Incident) -> Json:
    return {
        "id": item.id,
        "key_id": item.key_id,
        "status": item.status,
        "cause": item.cause,
        "replacement_key_id": item.replacement_key_id,
        "evidence": item.evidence,
        "notes": item.notes,
        "created_at": ser.time_text(item.created_at),
        "updated_at": ser.time_text(item.updated_at),
        "created_by": item.created_by,
    }


def compromise(done: Compromise) -> Json:
    """The procedure's report; ``replacement.key`` is the one-time reveal."""
    replacement = None
    if done.replacement is not None:
        new = done.replacement
        replacement = {"key_id": new.key.id, "start": new.key.start, "key": new.plaintext}
    return {
        "incident_id": done.incident.id,
        "key_id": done.key.id,
        "revoked_at": ser.time_text(done.key.revoked_at),
        "already_revoked": done.already_revoked,
        "replacement": replacement,
        "notified": done.notified,
        "incident": incident(done.incident),
    }


__all__ = [
    "action_result",
    "claim",
    "compromise",
    "incident",
    "key_action",
    "owner",
    "pickup",
    "root_key",
]
