"""The store interface of leak reports and leak policies.

A leak row says that a key's plaintext was seen where it should not be (a public
repository, a chat log): where (``url``), since when (``exposed_at``), who told
us (``source``), and what was done (``outcome``, ``incident_id``). It holds the
SHA-256 of the token, never the token. One row per key and workspace: a second
report of the same key finds the first and does nothing again.

``LeakStore`` is a protocol apart from the SQL code because it is part of ``Store``,
the one interface the service holds and a second backend implements.
tests/store/test_store_protocol.py holds ``SqlStore`` to it, signature by signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from keystead.store.custody import Scope

Outcome = Literal["pending", "revoked", "rotated", "notified", "already_revoked", "unknown"]
"""``pending``: being handled right now (a claim); every other value is final."""
PolicyAction = Literal["revoke", "rotate", "notify"]


@dataclass(slots=True, frozen=True)
class LeakRecord:
    """One leaked key (``lk_...``) and the response to it."""

    id: str
    workspace_id: str
    key_id: str
    """The key's id, or a leaked root key's (``rk_...``): the prefix tells them apart."""
    token_hash: str
    """SHA-256 hex of the token (GitHub's ``token_hash``): never the token."""
    token_type: str | None
    source: str
    url: str | None
    exposed_at: datetime | None
    """When the token was first exposed, if the reporter knows; else None."""
    reported_at: datetime
    outcome: str
    incident_id: str | None
    reported_by: str | None = None


@dataclass(slots=True, frozen=True)
class LeakPolicy:
    """What a leak of a key does: of the workspace (``api_id`` None) or of one API."""

    workspace_id: str
    api_id: str | None
    action: str
    """revoke (the compromise procedure), rotate (with a grace period) or notify."""
    grace_period_s: int | None
    """rotate: how long the leaked key keeps working; None: the key's rotation policy."""
    replace: bool
    """revoke: issue a replacement at once, held in a pickup for the owner."""
    notify: bool
    """send the ``key.compromised`` event to the webhooks."""
    updated_at: datetime


class LeakStore(Protocol):
    async def claim_leak(self, leak: LeakRecord) -> LeakRecord | None:
        """Insert ``leak`` unless its key already has one: then that one comes
        back and nothing is written. None when ``leak`` was inserted."""
        ...

    async def finish_leak(
        self, workspace_id: str, leak_id: str, values: Mapping[str, Any]
    ) -> LeakRecord | None:
        """Set ``outcome`` and ``incident_id`` of a claimed leak."""
        ...

    async def retake_leak(
        self, workspace_id: str, leak_id: str, stale_before: datetime, now: datetime
    ) -> bool:
        """Take over a ``pending`` claim made before ``stale_before`` (its node
        died mid-way): whether this caller won it."""
        ...

    async def release_leak(self, workspace_id: str, leak_id: str) -> None:
        """Drop a ``pending`` claim whose response failed, so a retry can act."""
        ...

    async def get_leak(
        self, workspace_id: str, leak_id: str, scope: Scope
    ) -> LeakRecord | None: ...
    async def leak_of(self, workspace_id: str, key_id: str) -> LeakRecord | None: ...
    async def list_leaks(
        self,
        workspace_id: str,
        scope: Scope,
        *,
        key_id: str | None,
        after: str | None,
        limit: int,
    ) -> list[LeakRecord]: ...

    async def list_leak_policies(self, workspace_id: str) -> list[LeakPolicy]:
        """The workspace's policy (if set) and every API's, workspace first."""
        ...

    async def put_leak_policy(self, policy: LeakPolicy) -> LeakPolicy: ...
    async def delete_leak_policy(self, workspace_id: str, api_id: str | None) -> bool: ...


__all__ = ["LeakPolicy", "LeakRecord", "LeakStore", "Outcome", "PolicyAction"]
