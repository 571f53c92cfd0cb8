"""Response bodies of owner public keys, pickups, key actions and incidents.

Two of these reveal a key, once: ``ClaimOut`` (a sealed pickup's ``key``) and
``CompromiseOut`` (the ``replacement``'s ``key``). A pickup listing never
carries a ciphertext.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from keystead.core.models import Owner, Pickup
from keystead.http.limit_views import OwnerOut
from keystead.http.views import Timestamp, limit_set
from keystead.service.actions import ActionResult
from keystead.service.incidents import Compromise
from keystead.service.pickups import ClaimedKey
from keystead.store.custody import Incident, KeyAction


class OwnerKeyOut(OwnerOut):
    public_jwk: dict[str, Any] | None = Field(
        description="the public key rotated keys are encrypted to (null: sealed pickups)"
    )


class OwnerKeyList(BaseModel):
    items: list[OwnerKeyOut]


class PickupOut(BaseModel):
    id: str
    key_id: str = Field(description="the new key held in it")
    owner_id: str | None
    format: str = Field(description="sealed (claim returns key) or jwe (claim returns jwe)")
    state: Literal["pending", "claimed", "expired"]
    created_at: Timestamp
    expires_at: Timestamp
    claimed_at: Timestamp | None


class PickupPage(BaseModel):
    items: list[PickupOut]
    next_cursor: str | None


class ClaimOut(BaseModel):
    pickup_id: str
    key_id: str
    format: str
    key: str | None = Field(
        default=None, repr=False, description="sealed: the plaintext key, shown this once"
    )
    jwe: str | None = Field(
        default=None, description="jwe: the key as a compact JWE for the owner's private key"
    )


class KeyActionOut(BaseModel):
    id: str
    key_id: str
    action: str
    cause: dict[str, Any]
    actor: str | None
    result: dict[str, Any] = Field(
        description="rotations: new_key_id, pickup_id, grace_ends_at; others: changed, state"
    )
    created_at: Timestamp


class ActionResultOut(KeyActionOut):
    state: str = Field(description="the acted-on key's state afterwards")


class KeyActionPage(BaseModel):
    items: list[KeyActionOut]
    next_cursor: str | None


class IncidentOut(BaseModel):
    id: str
    key_id: str
    status: str
    cause: dict[str, Any]
    replacement_key_id: str | None
    evidence: dict[str, Any] = Field(
        description="key summary and rotation chain, limit counters, recorded actions, usage"
    )
    notes: str | None
    created_at: Timestamp
    updated_at: Timestamp
    created_by: str | None


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None


class ReplacementOut(BaseModel):
    key_id: str
    start: str
    key: str = Field(repr=False, description="the replacement key: shown this once, never again")


class CompromiseOut(BaseModel):
    incident_id: str
    key_id: str
    revoked_at: Timestamp | None
    already_revoked: bool
    replacement: ReplacementOut | None
    notified: bool = Field(description="a key.compromised event went to the outbox")
    incident: IncidentOut


def owner_key_out(owner: Owner) -> OwnerKeyOut:
    return OwnerKeyOut(
        owner_id=owner.owner_id,
        **limit_set(owner.limits),
        created_at=owner.created_at,
        updated_at=owner.updated_at,
        public_jwk=owner.public_jwk,
    )


def pickup_state(pickup: Pickup, now: datetime) -> Literal["pending", "claimed", "expired"]:
    if pickup.claimed_at is not None:
        return "claimed"
    if pickup.ciphertext is None or pickup.expires_at <= now:
        return "expired"
    return "pending"


def pickup_out(pickup: Pickup, now: datetime) -> PickupOut:
    return PickupOut(
        id=pickup.id,
        key_id=pickup.key_id,
        owner_id=pickup.owner_id,
        format=pickup.format,
        state=pickup_state(pickup, now),
        created_at=pickup.created_at,
        expires_at=pickup.expires_at,
        claimed_at=pickup.claimed_at,
    )


def claim_out(claimed: ClaimedKey) -> ClaimOut:
    return ClaimOut(
        pickup_id=claimed.pickup.id,
        key_id=claimed.pickup.key_id,
        format=claimed.pickup.format,
        key=claimed.key,
        jwe=claimed.jwe,
    )


def _action_fields(action: KeyAction) -> dict[str, Any]:
    return {
        "id": action.id,
        "key_id": action.key_id,
        "action": action.action,
        "cause": action.cause,
        "actor": action.actor,
        "result": action.result,
        "created_at": action.created_at,
    }


def key_action_out(action: KeyAction) -> KeyActionOut:
    return KeyActionOut(**_action_fields(action))


def action_result_out(result: ActionResult, now: float) -> ActionResultOut:
    return ActionResultOut(**_action_fields(result.record), state=result.key.state_at(now))


def incident_out(incident: Incident) -> IncidentOut:
    return IncidentOut(
        id=incident.id,
        key_id=incident.key_id,
        status=incident.status,
        cause=incident.cause,
        replacement_key_id=incident.replacement_key_id,
        evidence=incident.evidence,
        notes=incident.notes,
        created_at=incident.created_at,
        updated_at=incident.updated_at,
        created_by=incident.created_by,
    )


def compromise_out(done: Compromise) -> CompromiseOut:
    replacement = None
    if done.replacement is not None:
        new = done.replacement
        replacement = ReplacementOut(key_id=new.key.id, start=new.key.start, key=new.plaintext)
    return CompromiseOut(
        incident_id=done.incident.id,
        key_id=done.key.id,
        revoked_at=done.key.revoked_at,
        already_revoked=done.already_revoked,
        replacement=replacement,
        notified=done.notified,
        incident=incident_out(done.incident),
    )


__all__ = [
    "ActionResultOut",
    "ClaimOut",
    "CompromiseOut",
    "IncidentOut",
    "IncidentPage",
    "KeyActionOut",
    "KeyActionPage",
    "OwnerKeyList",
    "OwnerKeyOut",
    "PickupOut",
    "PickupPage",
    "ReplacementOut",
    "action_result_out",
    "claim_out",
    "compromise_out",
    "incident_out",
    "key_action_out",
    "owner_key_out",
    "pickup_out",
    "pickup_state",
]
