"""The store interface of the key lifecycle: rotation, the outbox and leases.

``LifecycleStore`` is a protocol apart from the SQL code because it is part of ``Store``,
the one interface the service holds and a second backend implements.
tests/store/test_store_protocol.py holds ``SqlStore`` to it, signature by signature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from keystead.core.events import Event
from keystead.core.models import Key, Pickup


@dataclass(slots=True, frozen=True)
class LifecycleCandidate:
    """A live key the scheduler may act on, with what it needs to decide."""

    key: Key
    api_policy: dict[str, Any] | None
    expiring_notified_at: datetime | None
    expired_notified_at: datetime | None


class LifecycleStore(Protocol):
    async def append_events(self, events: Sequence[Event]) -> None: ...
    async def rotate_key(
        self,
        workspace_id: str,
        old_id: str,
        old_values: Mapping[str, Any],
        new_key: Key,
        new_hash: bytes,
        events: Callable[[Key, Key], Sequence[Event]],
        pickup: Pickup | None = None,
    ) -> tuple[Key, Key]: ...
    async def policy_apis(self) -> list[tuple[str, dict[str, Any]]]: ...
    async def keys_with_own_policy(
        self, *, after: str | None, limit: int
    ) -> list[LifecycleCandidate]: ...
    async def keys_aged(
        self, api_id: str, created_before: datetime, *, after: str | None, limit: int
    ) -> list[LifecycleCandidate]: ...
    async def keys_expiring(
        self, before: datetime, now: datetime, *, after: str | None, limit: int
    ) -> list[LifecycleCandidate]: ...
    async def mark_notified(
        self, column: str, notices: Sequence[tuple[str, Event]], at: datetime
    ) -> int: ...
    async def acquire_lease(
        self, name: str, holder: str, now: datetime, until: datetime
    ) -> bool: ...
    async def release_lease(self, name: str, holder: str) -> None: ...
    async def list_events(
        self, workspace_id: str, *, after: str | None, limit: int
    ) -> list[Event]: ...


__all__ = ["LifecycleCandidate", "LifecycleStore"]
