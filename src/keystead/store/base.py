"""The persistence interface the service talks to. Backends live beside it.

``Store`` is a protocol apart from the SQL code because it is the whole
interface: the service holds nothing else, and a second backend implements it.
tests/store/test_store_protocol.py holds ``SqlStore`` to it, signature by signature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from keystead.core.events import Event
from keystead.core.models import Api, Key, KeyState, Owner, Plan, Role, RootKey, Workspace
from keystead.store.alerts import AlertStore
from keystead.store.analytics import AnalyticsStore
from keystead.store.audit import AuditStore
from keystead.store.custody import CustodyStore
from keystead.store.key_imports import KeyImportStore
from keystead.store.leaks import LeakStore
from keystead.store.lifecycle import LifecycleStore
from keystead.store.sealed import SealedStore
from keystead.store.secret_consumers import SecretConsumerStore
from keystead.store.secrets import SecretStore
from keystead.store.server_secret import ServerSecretStore
from keystead.store.tokens import TokenStore
from keystead.store.transit import TransitStore
from keystead.store.usage import UsageStore
from keystead.store.web_sessions import WebSessionStore
from keystead.store.webhooks import WebhookStore


@dataclass(slots=True, frozen=True)
class KeyFilter:
    api_id: str | None = None
    api_ids: frozenset[str] | None = None
    owner_id: str | None = None
    state: KeyState | None = None
    plan_id: str | None = None
    environment: str | None = None
    search: str | None = None
    """Name (case-insensitive substring), owner id or ``start`` (prefixes)."""


@dataclass(slots=True, frozen=True)
class OwnerCap:
    """At most ``most`` live keys (neither revoked nor expired at ``now``) for one
    owner, counted in the transaction that inserts: two creations at once cannot
    both pass a count that each made before the other's insert."""

    workspace_id: str
    owner_id: str
    most: int
    now: datetime


class Store(
    LifecycleStore,
    CustodyStore,
    WebhookStore,
    UsageStore,
    AuditStore,
    AnalyticsStore,
    AlertStore,
    SecretStore,
    SealedStore,
    TransitStore,
    SecretConsumerStore,
    LeakStore,
    TokenStore,
    WebSessionStore,
    ServerSecretStore,
    KeyImportStore,
    Protocol,
):
    """Async persistence of workspaces, APIs, roles, keys and root keys.

    Every method that reads by id is scoped by workspace, so a face cannot see
    across workspaces by accident. Lookups by hash are not scoped: the hash is
    the secret, and the caller checks the workspace of what comes back.
    Backend failures surface as ``errors.StoreUnavailable``; a duplicate
    unique value as ``errors.Conflict``.
    """

    async def migrate(self) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...

    async def get_setting(self, name: str) -> str | None: ...
    async def put_setting_if_absent(self, name: str, value: str) -> str: ...
    async def replace_setting(self, name: str, expected: str, value: str) -> bool: ...

    async def insert_workspace(self, workspace: Workspace) -> None: ...
    async def list_workspaces(self) -> list[Workspace]: ...
    async def get_workspace(self, workspace_id: str) -> Workspace | None: ...

    async def insert_root_key(self, root_key: RootKey, key_hash: bytes) -> None: ...
    async def find_root_key(self, key_hash: bytes) -> RootKey | None: ...
    async def list_root_keys(self, workspace_id: str) -> list[RootKey]: ...
    async def revoke_root_key(
        self, workspace_id: str, root_key_id: str, at: datetime
    ) -> RootKey | None: ...

    async def insert_api(self, api: Api) -> None: ...
    async def get_api(self, workspace_id: str, api_id: str) -> Api | None: ...
    async def list_apis(self, workspace_id: str) -> list[Api]: ...
    async def update_api(
        self, workspace_id: str, api_id: str, values: Mapping[str, Any]
    ) -> Api | None: ...
    async def delete_api(self, workspace_id: str, api_id: str) -> bool: ...
    async def count_keys(self, api_id: str) -> int: ...

    async def insert_plan(self, plan: Plan) -> None: ...
    async def get_plan(self, workspace_id: str, plan_id: str) -> Plan | None: ...
    async def list_plans(self, workspace_id: str) -> list[Plan]: ...
    async def update_plan(
        self, workspace_id: str, plan_id: str, values: Mapping[str, Any]
    ) -> Plan | None: ...
    async def delete_plan(self, workspace_id: str, plan_id: str) -> bool: ...
    async def count_plan_keys(self, plan_id: str) -> int: ...

    async def put_owner(self, owner: Owner) -> Owner: ...
    async def get_owner(self, workspace_id: str, owner_id: str) -> Owner | None: ...
    async def list_owners(self, workspace_id: str) -> list[Owner]: ...
    async def list_key_holders(
        self, workspace_id: str, *, after: str | None, limit: int, only: str | None = None
    ) -> list[tuple[str, int]]: ...
    async def delete_owner(self, workspace_id: str, owner_id: str) -> bool: ...

    async def get_credits_remaining(self, key_id: str) -> int | None: ...
    async def put_credits_remaining(self, balances: Mapping[str, int | None]) -> None: ...

    async def put_role(self, role: Role) -> Role: ...
    async def list_roles(self, api_id: str) -> list[Role]: ...
    async def delete_role(self, api_id: str, name: str) -> bool: ...

    async def insert_keys(
        self,
        rows: Sequence[tuple[Key, bytes]],
        events: Sequence[Event] = (),
        cap: OwnerCap | None = None,
    ) -> None: ...
    async def get_key(self, workspace_id: str, key_id: str) -> Key | None: ...
    async def find_key(self, key_hash: bytes) -> Key | None: ...
    async def list_keys(
        self, workspace_id: str, where: KeyFilter, *, after: str | None, limit: int, now: datetime
    ) -> list[Key]: ...
    async def update_key(
        self,
        workspace_id: str,
        key_id: str,
        values: Mapping[str, Any],
        events: Callable[[Key], Sequence[Event]] | None = None,
        before_commit: Callable[[Key], Awaitable[None]] | None = None,
    ) -> Key | None: ...
    async def delete_key(
        self, workspace_id: str, key_id: str, events: Sequence[Event] = ()
    ) -> bool: ...
    async def touch_keys(self, last_used: Mapping[str, datetime]) -> None: ...


__all__ = ["KeyFilter", "OwnerCap", "Store"]
