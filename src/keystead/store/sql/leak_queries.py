"""Leak reports and leak policies.

Its methods restate ``store.leaks.LeakStore``: the protocol other backends implement too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from keystead.errors import Conflict
from keystead.store.custody import Scope
from keystead.store.leaks import LeakPolicy, LeakRecord
from keystead.store.sql import rows
from keystead.store.sql.base import SqlBase
from keystead.store.sql.tables import keys, leak_policies, leaks

_FINISHABLE = frozenset({"outcome", "incident_id"})
_WORKSPACE = ""  # the api_id of a workspace's own policy (a key column is never NULL)


def _leak(row: sa.Row[Any]) -> LeakRecord:
    reported_at = rows.aware(row.reported_at)
    assert reported_at is not None  # noqa: S101 - a NOT NULL column
    return LeakRecord(
        id=row.id,
        workspace_id=row.workspace_id,
        key_id=row.key_id,
        token_hash=row.token_hash,
        token_type=row.token_type,
        source=row.source,
        url=row.url,
        exposed_at=rows.aware(row.exposed_at),
        reported_at=reported_at,
        outcome=row.outcome,
        incident_id=row.incident_id,
        reported_by=row.reported_by,
    )


def _policy(row: sa.Row[Any]) -> LeakPolicy:
    updated_at = rows.aware(row.updated_at)
    assert updated_at is not None  # noqa: S101 - a NOT NULL column
    return LeakPolicy(
        workspace_id=row.workspace_id,
        api_id=row.api_id or None,
        action=row.action,
        grace_period_s=row.grace_period_s,
        replace=bool(row.replace),
        notify=bool(row.notify),
        updated_at=updated_at,
    )


def _visible(stmt: sa.Select[Any], scope: Scope) -> sa.Select[Any]:
    """Only leaks of keys a narrowed root key may see (its APIs, its owner)."""
    if not scope.narrowed:
        return stmt
    stmt = stmt.join(keys, keys.c.id == leaks.c.key_id)
    if scope.api_ids is not None:
        stmt = stmt.where(keys.c.api_id.in_(sorted(scope.api_ids)))
    if scope.owner_id is not None:
        stmt = stmt.where(keys.c.owner_id == scope.owner_id)
    return stmt


class LeakQueries(SqlBase):
    async def claim_leak(self, leak: LeakRecord) -> LeakRecord | None:
        try:
            async with self._tx() as c:
                await c.execute(
                    leaks.insert().values(
                        id=leak.id,
                        workspace_id=leak.workspace_id,
                        key_id=leak.key_id,
                        token_hash=leak.token_hash,
                        token_type=leak.token_type,
                        source=leak.source,
                        url=leak.url,
                        exposed_at=leak.exposed_at,
                        reported_at=leak.reported_at,
                        outcome=leak.outcome,
                        incident_id=leak.incident_id,
                        reported_by=leak.reported_by,
                    )
                )
        except Conflict:
            existing = await self.leak_of(leak.workspace_id, leak.key_id)
            if existing is None:  # released meanwhile: claim again
                return await self.claim_leak(leak)
            return existing
        return None

    async def finish_leak(
        self, workspace_id: str, leak_id: str, values: Mapping[str, Any]
    ) -> LeakRecord | None:
        unknown = set(values) - _FINISHABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        scope = (leaks.c.workspace_id == workspace_id) & (leaks.c.id == leak_id)
        async with self._tx() as c:
            await c.execute(leaks.update().where(scope).values(**values))
            row = (await c.execute(sa.select(leaks).where(scope))).first()
        return None if row is None else _leak(row)

    async def retake_leak(
        self, workspace_id: str, leak_id: str, stale_before: datetime, now: datetime
    ) -> bool:
        async with self._tx() as c:
            done = await c.execute(
                leaks.update()
                .where(
                    (leaks.c.workspace_id == workspace_id)
                    & (leaks.c.id == leak_id)
                    & (leaks.c.outcome == "pending")
                    & (leaks.c.reported_at < stale_before)
                )
                .values(reported_at=now)
            )
        return bool(done.rowcount)

    async def release_leak(self, workspace_id: str, leak_id: str) -> None:
        async with self._tx() as c:
            await c.execute(
                leaks.delete().where(
                    (leaks.c.workspace_id == workspace_id)
                    & (leaks.c.id == leak_id)
                    & (leaks.c.outcome == "pending")
                )
            )

    async def get_leak(self, workspace_id: str, leak_id: str, scope: Scope) -> LeakRecord | None:
        stmt = _visible(sa.select(leaks), scope).where(
            (leaks.c.workspace_id == workspace_id) & (leaks.c.id == leak_id)
        )
        row = await self._one(stmt)
        return None if row is None else _leak(row)

    async def leak_of(self, workspace_id: str, key_id: str) -> LeakRecord | None:
        row = await self._one(
            sa.select(leaks).where(
                (leaks.c.workspace_id == workspace_id) & (leaks.c.key_id == key_id)
            )
        )
        return None if row is None else _leak(row)

    async def list_leaks(
        self,
        workspace_id: str,
        scope: Scope,
        *,
        key_id: str | None,
        after: str | None,
        limit: int,
    ) -> list[LeakRecord]:
        stmt = _visible(sa.select(leaks), scope).where(leaks.c.workspace_id == workspace_id)
        if key_id is not None:
            stmt = stmt.where(leaks.c.key_id == key_id)
        if after is not None:
            stmt = stmt.where(leaks.c.id > after)
        found = await self._all(stmt.order_by(leaks.c.id).limit(limit))
        return [_leak(r) for r in found]

    async def list_leak_policies(self, workspace_id: str) -> list[LeakPolicy]:
        found = await self._all(
            sa.select(leak_policies)
            .where(leak_policies.c.workspace_id == workspace_id)
            .order_by(leak_policies.c.api_id)
        )
        return [_policy(r) for r in found]

    async def put_leak_policy(self, policy: LeakPolicy) -> LeakPolicy:
        api_id = policy.api_id or _WORKSPACE
        scope = (leak_policies.c.workspace_id == policy.workspace_id) & (
            leak_policies.c.api_id == api_id
        )
        values = {
            "action": policy.action,
            "grace_period_s": policy.grace_period_s,
            "replace": policy.replace,
            "notify": policy.notify,
            "updated_at": policy.updated_at,
        }
        async with self._tx() as c:
            done = await c.execute(leak_policies.update().where(scope).values(**values))
            if not done.rowcount:
                await c.execute(
                    leak_policies.insert().values(
                        workspace_id=policy.workspace_id, api_id=api_id, **values
                    )
                )
            row = (await c.execute(sa.select(leak_policies).where(scope))).one()
        return _policy(row)

    async def delete_leak_policy(self, workspace_id: str, api_id: str | None) -> bool:
        async with self._tx() as c:
            done = await c.execute(
                leak_policies.delete().where(
                    (leak_policies.c.workspace_id == workspace_id)
                    & (leak_policies.c.api_id == (api_id or _WORKSPACE))
                )
            )
        return bool(done.rowcount)


__all__ = ["LeakQueries"]
