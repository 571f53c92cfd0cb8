"""The store interface of key custody: owner public keys, pickups, recorded
key actions and incidents, and the records only this part of the store knows.

``CustodyStore`` is a protocol apart from the SQL code because it is part of ``Store``,
the one interface the service holds and a second backend implements.
tests/store/test_store_protocol.py holds ``SqlStore`` to it, signature by signature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from keystead.core.events import Event
from keystead.core.models import Key, Owner, Pickup

ClaimStatus = Literal["claimed", "missing", "taken", "expired"]


@dataclass(slots=True, frozen=True)
class KeyAction:
    """One action taken on a key because of an event (``act_...``)."""

    id: str
    workspace_id: str
    key_id: str
    action: str
    cause: dict[str, Any]
    actor: str | None
    result: dict[str, Any]
    created_at: datetime


@dataclass(slots=True, frozen=True)
class Incident:
    """A compromised key's record (``inc_...``): what was done and what is known."""

    id: str
    workspace_id: str
    key_id: str
    status: str
    cause: dict[str, Any]
    replacement_key_id: str | None
    evidence: dict[str, Any]
    notes: str | None
    created_at: datetime
    updated_at: datetime
    created_by: str | None


@dataclass(slots=True, frozen=True)
class Scope:
    """What a narrowed root key may see of pickups and incidents: those of keys
    of its APIs (``api_ids``) and of its owner (``owner_id``); None: no limit."""

    api_ids: frozenset[str] | None = None
    owner_id: str | None = None

    @property
    def narrowed(self) -> bool:
        return self.api_ids is not None or self.owner_id is not None


@dataclass(slots=True, frozen=True)
class Claim:
    """The outcome of claiming a pickup. Only ``claimed`` carries the ciphertext
    (which the store erased in the same transaction)."""

    status: ClaimStatus
    pickup: Pickup | None = None
    ciphertext: bytes | None = field(default=None, repr=False)


class CustodyStore(Protocol):
    async def set_owner_public_jwk(
        self, workspace_id: str, owner_id: str, jwk: Mapping[str, Any] | None, at: datetime
    ) -> Owner | None: ...

    async def get_pickup(self, workspace_id: str, pickup_id: str) -> Pickup | None: ...
    async def list_pickups(
        self, workspace_id: str, scope: Scope, *, after: str | None, limit: int
    ) -> list[Pickup]: ...
    async def claim_pickup(
        self, workspace_id: str, pickup_id: str, claimed_by: str, now: datetime
    ) -> Claim: ...
    async def purge_pickups(self, now: datetime) -> int: ...

    async def act_on_key(
        self,
        workspace_id: str,
        key_id: str,
        values: Mapping[str, Any],
        events: Callable[[Key], Sequence[Event]],
        action: Callable[[Key], KeyAction],
    ) -> Key | None: ...
    async def insert_key_action(self, action: KeyAction) -> None: ...
    async def list_key_actions(
        self, workspace_id: str, key_id: str, *, after: str | None, limit: int
    ) -> list[KeyAction]: ...

    async def insert_incident(
        self, incident: Incident, events: Sequence[Event], action: KeyAction | None = None
    ) -> None: ...
    async def get_incident(
        self, workspace_id: str, incident_id: str, scope: Scope
    ) -> Incident | None: ...
    async def list_incidents(
        self,
        workspace_id: str,
        scope: Scope,
        *,
        status: str | None,
        key_id: str | None,
        after: str | None,
        limit: int,
    ) -> list[Incident]: ...
    async def update_incident(
        self, workspace_id: str, incident_id: str, values: Mapping[str, Any]
    ) -> Incident | None: ...


__all__ = ["Claim", "ClaimStatus", "CustodyStore", "Incident", "KeyAction", "Scope"]
