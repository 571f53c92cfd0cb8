"""The SQL store: SQLite (embedded default, WAL) and PostgreSQL, one code path.

Its methods restate ``store.base.Store``: the protocol other backends implement too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from keystead.core.events import Event
from keystead.core.models import Api, Key, Role, RootKey, Workspace
from keystead.errors import Conflict, StoreUnavailable
from keystead.store.base import KeyFilter, OwnerCap
from keystead.store.sql import rows
from keystead.store.sql.alert_queries import AlertQueries
from keystead.store.sql.analytics_queries import AnalyticsQueries
from keystead.store.sql.audit_queries import AuditQueries
from keystead.store.sql.custody_queries import CustodyQueries
from keystead.store.sql.engine import migrate
from keystead.store.sql.key_filters import owner_live_keys, search_condition, state_condition
from keystead.store.sql.key_import_queries import KeyImportQueries
from keystead.store.sql.leak_queries import LeakQueries
from keystead.store.sql.lifecycle_queries import LifecycleQueries, write_events
from keystead.store.sql.limit_queries import LimitQueries
from keystead.store.sql.rows import key_values
from keystead.store.sql.sealed_queries import SealedQueries
from keystead.store.sql.secret_consumer_queries import SecretConsumerQueries
from keystead.store.sql.secret_queries import SecretQueries
from keystead.store.sql.server_secret_queries import ServerSecretQueries
from keystead.store.sql.tables import (
    apis,
    keys,
    roles,
    root_keys,
    settings,
    workspaces,
)
from keystead.store.sql.token_queries import TokenQueries, delete_api_tokens
from keystead.store.sql.transit_queries import TransitQueries
from keystead.store.sql.usage_queries import UsageQueries
from keystead.store.sql.web_session_queries import WebSessionQueries
from keystead.store.sql.webhook_queries import WebhookQueries

_OWNER_LOCK = sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")
_ROOT_COLUMNS = [c for c in root_keys.c if c.name not in ("key_hash", "hash_version")]
_UPDATABLE = frozenset(
    c.name
    for c in keys.c
    if c.name not in ("id", "workspace_id", "api_id", "key_hash", "hash_version", "prefix")
)
_API_UPDATABLE = frozenset(
    {"name", "key_defaults", "limits", "rotation_policy", "token_policy", "updated_at"}
)


class SqlStore(
    LimitQueries,
    LifecycleQueries,
    CustodyQueries,
    WebhookQueries,
    UsageQueries,
    AuditQueries,
    AnalyticsQueries,
    AlertQueries,
    SecretQueries,
    SealedQueries,
    TokenQueries,
    TransitQueries,
    SecretConsumerQueries,
    LeakQueries,
    WebSessionQueries,
    ServerSecretQueries,
    KeyImportQueries,
):
    """Workspaces, root keys, APIs, roles and keys; plans, owners and the credits
    mirror come from ``LimitQueries``; rotation, the outbox and leases from
    ``LifecycleQueries``; pickups, incidents and key actions from
    ``CustodyQueries``; connections and errors from ``SqlBase``."""

    async def migrate(self) -> None:
        try:
            await migrate(self._engine)
        except (sa.exc.OperationalError, sa.exc.InterfaceError, OSError) as exc:
            raise StoreUnavailable(
                f"the {self.dialect} store failed: {type(exc).__name__}"
            ) from exc

    async def close(self) -> None:
        if self._audit_appender is not None:
            await self._audit_appender.close()
        await self._engine.dispose()
        if self._reader is not self._engine:
            await self._reader.dispose()

    async def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers a trivial query."""
        await self._one(sa.select(sa.literal(1)))

    # settings ---------------------------------------------------------------
    async def get_setting(self, name: str) -> str | None:
        row = await self._one(sa.select(settings.c.value).where(settings.c.name == name))
        return None if row is None else str(row.value)

    async def put_setting_if_absent(self, name: str, value: str) -> str:
        try:
            async with self._tx() as c:
                await c.execute(settings.insert().values(name=name, value=value))
            return value
        except Conflict:
            current = await self.get_setting(name)
            if current is None:
                raise StoreUnavailable(f"setting '{name}' vanished while being written") from None
            return current

    async def replace_setting(self, name: str, expected: str, value: str) -> bool:
        """Set ``name`` to ``value`` if it holds ``expected``; whether it did."""
        async with self._tx() as c:
            done = await c.execute(
                settings.update()
                .where((settings.c.name == name) & (settings.c.value == expected))
                .values(value=value)
            )
        return bool(done.rowcount)

    # workspaces -------------------------------------------------------------
    async def insert_workspace(self, workspace: Workspace) -> None:
        async with self._tx() as c:
            await c.execute(
                workspaces.insert().values(
                    id=workspace.id, name=workspace.name, created_at=workspace.created_at
                )
            )

    async def list_workspaces(self) -> list[Workspace]:
        found = await self._all(sa.select(workspaces).order_by(workspaces.c.id))
        return [rows.workspace(r) for r in found]

    async def get_workspace(self, workspace_id: str) -> Workspace | None:
        row = await self._one(sa.select(workspaces).where(workspaces.c.id == workspace_id))
        return None if row is None else rows.workspace(row)

    # root keys --------------------------------------------------------------
    async def insert_root_key(self, root_key: RootKey, key_hash: bytes) -> None:
        async with self._tx() as c:
            await c.execute(
                root_keys.insert().values(
                    id=root_key.id,
                    workspace_id=root_key.workspace_id,
                    key_hash=key_hash,
                    hash_version=rows.hash_version_of(key_hash),
                    start=root_key.start,
                    name=root_key.name,
                    permissions=list(root_key.permissions),
                    api_ids=None if root_key.api_ids is None else list(root_key.api_ids),
                    created_at=root_key.created_at,
                    revoked_at=root_key.revoked_at,
                    created_by=root_key.created_by,
                    owner_id=root_key.owner_id,
                )
            )

    async def find_root_key(self, key_hash: bytes) -> RootKey | None:
        row = await self._one(sa.select(*_ROOT_COLUMNS).where(root_keys.c.key_hash == key_hash))
        return None if row is None else rows.root_key(row)

    async def list_root_keys(self, workspace_id: str) -> list[RootKey]:
        found = await self._all(
            sa.select(*_ROOT_COLUMNS)
            .where(root_keys.c.workspace_id == workspace_id)
            .order_by(root_keys.c.id)
        )
        return [rows.root_key(r) for r in found]

    async def revoke_root_key(
        self, workspace_id: str, root_key_id: str, at: datetime
    ) -> RootKey | None:
        scope = (root_keys.c.workspace_id == workspace_id) & (root_keys.c.id == root_key_id)
        async with self._tx() as c:
            await c.execute(
                root_keys.update()
                .where(scope & root_keys.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            row = (await c.execute(sa.select(*_ROOT_COLUMNS).where(scope))).first()
        return None if row is None else rows.root_key(row)

    # apis -------------------------------------------------------------------
    async def insert_api(self, api: Api) -> None:
        async with self._tx() as c:
            await c.execute(
                apis.insert().values(
                    id=api.id,
                    workspace_id=api.workspace_id,
                    name=api.name,
                    prefix=api.prefix,
                    key_defaults=api.key_defaults,
                    limits=api.limits or None,
                    rotation_policy=api.rotation_policy,
                    token_policy=api.token_policy,
                    created_at=api.created_at,
                    updated_at=api.updated_at,
                )
            )

    async def update_api(
        self, workspace_id: str, api_id: str, values: Mapping[str, Any]
    ) -> Api | None:
        if set(values) - _API_UPDATABLE:
            raise ValueError(f"not updatable: {sorted(set(values) - _API_UPDATABLE)}")
        scope = (apis.c.workspace_id == workspace_id) & (apis.c.id == api_id)
        async with self._tx() as c:
            await c.execute(apis.update().where(scope).values(**values))
            row = (await c.execute(sa.select(apis).where(scope))).first()
        return None if row is None else rows.api(row)

    async def get_api(self, workspace_id: str, api_id: str) -> Api | None:
        row = await self._one(
            sa.select(apis).where((apis.c.workspace_id == workspace_id) & (apis.c.id == api_id))
        )
        return None if row is None else rows.api(row)

    async def list_apis(self, workspace_id: str) -> list[Api]:
        found = await self._all(
            sa.select(apis).where(apis.c.workspace_id == workspace_id).order_by(apis.c.id)
        )
        return [rows.api(r) for r in found]

    async def delete_api(self, workspace_id: str, api_id: str) -> bool:
        async with self._tx() as c:
            await c.execute(roles.delete().where(roles.c.api_id == api_id))
            await delete_api_tokens(c, api_id)
            result = await c.execute(
                apis.delete().where((apis.c.workspace_id == workspace_id) & (apis.c.id == api_id))
            )
        return bool(result.rowcount)

    async def count_keys(self, api_id: str) -> int:
        row = await self._one(sa.select(sa.func.count()).where(keys.c.api_id == api_id))
        return 0 if row is None else int(row[0])

    # roles ------------------------------------------------------------------
    async def put_role(self, role: Role) -> Role:
        scope = (roles.c.api_id == role.api_id) & (roles.c.name == role.name)
        async with self._tx() as c:
            existing = (await c.execute(sa.select(roles.c.created_at).where(scope))).first()
            values = {
                "permissions": list(role.permissions),
                "description": role.description,
                "updated_at": role.updated_at,
            }
            if existing is None:
                await c.execute(
                    roles.insert().values(
                        api_id=role.api_id, name=role.name, created_at=role.created_at, **values
                    )
                )
            else:
                await c.execute(roles.update().where(scope).values(**values))
            row = (await c.execute(sa.select(roles).where(scope))).one()
        return rows.role(row)

    async def list_roles(self, api_id: str) -> list[Role]:
        found = await self._all(
            sa.select(roles).where(roles.c.api_id == api_id).order_by(roles.c.name)
        )
        return [rows.role(r) for r in found]

    async def delete_role(self, api_id: str, name: str) -> bool:
        async with self._tx() as c:
            result = await c.execute(
                roles.delete().where((roles.c.api_id == api_id) & (roles.c.name == name))
            )
        return bool(result.rowcount)

    # keys -------------------------------------------------------------------
    async def insert_keys(
        self,
        rows: Sequence[tuple[Key, bytes]],
        events: Sequence[Event] = (),
        cap: OwnerCap | None = None,
    ) -> None:
        """``cap``: refuse (Conflict, nothing stored) if the owner would hold more
        live keys than it allows. PostgreSQL serialises the owner's capped inserts
        on a transaction lock; MariaDB on the workspace's row, locked until commit
        (its GET_LOCK is held by a session, not a transaction, and would be let go
        before the commit or by hand after it); SQLite's insert takes the
        database's write lock before the count, which then sees every committed key."""
        if not rows:
            return
        async with self._tx() as c:
            if cap is not None and self.dialect == "postgresql":
                lock = f"keystead.owner-cap:{cap.workspace_id}:{cap.owner_id}"
                await c.execute(_OWNER_LOCK, {"name": lock})
            elif cap is not None and self.dialect == "mysql":
                mine = workspaces.c.id == cap.workspace_id
                await c.execute(sa.select(workspaces.c.id).where(mine).with_for_update())
            await c.execute(keys.insert(), [key_values(k, h) for k, h in rows])
            if cap is not None:
                held = int(await c.scalar(owner_live_keys(cap.workspace_id, cap.owner_id, cap.now)))
                if held > cap.most:
                    raise Conflict(
                        f"this account holds {held - len(rows)} keys, the most allowed here"
                    )
            await write_events(c, events)

    async def get_key(self, workspace_id: str, key_id: str) -> Key | None:
        row = await self._one(
            sa.select(*rows.KEY_COLUMNS).where(
                (keys.c.workspace_id == workspace_id) & (keys.c.id == key_id)
            )
        )
        return None if row is None else rows.key(row)

    async def find_key(self, key_hash: bytes) -> Key | None:
        row = await self._one(sa.select(*rows.KEY_COLUMNS).where(keys.c.key_hash == key_hash))
        return None if row is None else rows.key(row)

    async def list_keys(
        self, workspace_id: str, where: KeyFilter, *, after: str | None, limit: int, now: datetime
    ) -> list[Key]:
        conditions = [keys.c.workspace_id == workspace_id]
        if where.api_id is not None:
            conditions.append(keys.c.api_id == where.api_id)
        if where.api_ids is not None:
            conditions.append(keys.c.api_id.in_(sorted(where.api_ids)))
        if where.owner_id is not None:
            conditions.append(keys.c.owner_id == where.owner_id)
        if where.state is not None:
            conditions.append(state_condition(where.state, now))
        if where.plan_id is not None:
            conditions.append(keys.c.plan_id == where.plan_id)
        if where.environment is not None:
            conditions.append(keys.c.environment == where.environment)
        if after is not None:
            conditions.append(keys.c.id > after)
        if where.search is not None:  # a scan of the workspace's keys at worst
            conditions.append(search_condition(where.search, self.dialect))
        stmt = sa.select(*rows.KEY_COLUMNS).where(*conditions)
        found = await self._all(stmt.order_by(keys.c.id).limit(limit))
        return [rows.key(r) for r in found]

    async def update_key(
        self,
        workspace_id: str,
        key_id: str,
        values: Mapping[str, Any],
        events: Callable[[Key], Sequence[Event]] | None = None,
        before_commit: Callable[[Key], Awaitable[None]] | None = None,
    ) -> Key | None:
        """Apply ``values``; ``events(updated)`` names what to append to the
        outbox in the same transaction (nothing when the key is gone).
        ``before_commit(updated)`` runs last inside the transaction: if it
        raises, nothing is stored (the limiter's share of a change goes there)."""
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        scope = (keys.c.workspace_id == workspace_id) & (keys.c.id == key_id)
        async with self._tx() as c:
            if values:
                await c.execute(keys.update().where(scope).values(**values))
            row = (await c.execute(sa.select(*rows.KEY_COLUMNS).where(scope))).first()
            updated = None if row is None else rows.key(row)
            if updated is not None and events is not None:
                await write_events(c, events(updated))
            if updated is not None and before_commit is not None:
                await before_commit(updated)
        return updated

    async def delete_key(
        self, workspace_id: str, key_id: str, events: Sequence[Event] = ()
    ) -> bool:
        async with self._tx() as c:
            result = await c.execute(
                keys.delete().where((keys.c.workspace_id == workspace_id) & (keys.c.id == key_id))
            )
            if result.rowcount:
                await write_events(c, events)
        return bool(result.rowcount)

    async def touch_keys(self, last_used: Mapping[str, datetime]) -> None:
        if not last_used:
            return
        stmt = (
            keys.update()
            .where(keys.c.id == sa.bindparam("b_id"))
            .where(
                sa.or_(keys.c.last_used_at.is_(None), keys.c.last_used_at < sa.bindparam("b_at"))
            )
            .values(last_used_at=sa.bindparam("b_at"))
        )
        # a fixed order keeps nodes that flush the same keys from deadlocking
        batch = [{"b_id": k, "b_at": last_used[k]} for k in sorted(last_used)]
        async with self._tx() as c:
            await c.execute(stmt, batch)


__all__ = ["SqlStore"]
