"""Plans, owners and the credits mirror: the tables behind limits.

Its methods restate ``store.base.Store``: the protocol other backends implement too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from keystead.core.models import Owner, Plan
from keystead.store.sql import rows
from keystead.store.sql.base import SqlBase
from keystead.store.sql.tables import keys, owners, plans

_PLAN_UPDATABLE = frozenset({"name", "limits", "priority", "updated_at"})


class LimitQueries(SqlBase):
    # plans ------------------------------------------------------------------
    async def insert_plan(self, plan: Plan) -> None:
        async with self._tx() as c:
            await c.execute(
                plans.insert().values(
                    id=plan.id,
                    workspace_id=plan.workspace_id,
                    name=plan.name,
                    limits=plan.limits,
                    priority=plan.priority,
                    created_at=plan.created_at,
                    updated_at=plan.updated_at,
                )
            )

    async def get_plan(self, workspace_id: str, plan_id: str) -> Plan | None:
        row = await self._one(
            sa.select(plans).where((plans.c.workspace_id == workspace_id) & (plans.c.id == plan_id))
        )
        return None if row is None else rows.plan(row)

    async def list_plans(self, workspace_id: str) -> list[Plan]:
        found = await self._all(
            sa.select(plans).where(plans.c.workspace_id == workspace_id).order_by(plans.c.id)
        )
        return [rows.plan(r) for r in found]

    async def update_plan(
        self, workspace_id: str, plan_id: str, values: Mapping[str, Any]
    ) -> Plan | None:
        if set(values) - _PLAN_UPDATABLE:
            raise ValueError(f"not updatable: {sorted(set(values) - _PLAN_UPDATABLE)}")
        scope = (plans.c.workspace_id == workspace_id) & (plans.c.id == plan_id)
        async with self._tx() as c:
            await c.execute(plans.update().where(scope).values(**values))
            row = (await c.execute(sa.select(plans).where(scope))).first()
        return None if row is None else rows.plan(row)

    async def delete_plan(self, workspace_id: str, plan_id: str) -> bool:
        async with self._tx() as c:
            result = await c.execute(
                plans.delete().where(
                    (plans.c.workspace_id == workspace_id) & (plans.c.id == plan_id)
                )
            )
        return bool(result.rowcount)

    async def count_plan_keys(self, plan_id: str) -> int:
        row = await self._one(sa.select(sa.func.count()).where(keys.c.plan_id == plan_id))
        return 0 if row is None else int(row[0])

    # owners -----------------------------------------------------------------
    async def put_owner(self, owner: Owner) -> Owner:
        scope = (owners.c.workspace_id == owner.workspace_id) & (
            owners.c.owner_id == owner.owner_id
        )
        async with self._tx() as c:
            existing = (await c.execute(sa.select(owners.c.created_at).where(scope))).first()
            if existing is None:
                await c.execute(
                    owners.insert().values(
                        workspace_id=owner.workspace_id,
                        owner_id=owner.owner_id,
                        limits=owner.limits,
                        created_at=owner.created_at,
                        updated_at=owner.updated_at,
                        public_jwk=owner.public_jwk,
                    )
                )
            else:
                await c.execute(
                    owners.update()
                    .where(scope)
                    .values(limits=owner.limits, updated_at=owner.updated_at)
                )
            row = (await c.execute(sa.select(owners).where(scope))).one()
        return rows.owner(row)

    async def get_owner(self, workspace_id: str, owner_id: str) -> Owner | None:
        row = await self._one(
            sa.select(owners).where(
                (owners.c.workspace_id == workspace_id) & (owners.c.owner_id == owner_id)
            )
        )
        return None if row is None else rows.owner(row)

    async def list_owners(self, workspace_id: str) -> list[Owner]:
        found = await self._all(
            sa.select(owners)
            .where(owners.c.workspace_id == workspace_id)
            .order_by(owners.c.owner_id)
        )
        return [rows.owner(r) for r in found]

    async def list_key_holders(
        self, workspace_id: str, *, after: str | None, limit: int, only: str | None = None
    ) -> list[tuple[str, int]]:
        """The owner ids keys carry, in order after ``after``, each with how many of
        its keys are not revoked (``only``: that owner alone). Walks the owner index."""
        conditions = [keys.c.workspace_id == workspace_id, keys.c.owner_id.is_not(None)]
        if after is not None:
            conditions.append(keys.c.owner_id > after)
        if only is not None:
            conditions.append(keys.c.owner_id == only)
        held = sa.func.sum(sa.case((keys.c.revoked_at.is_(None), 1), else_=0))
        found = await self._all(
            sa.select(keys.c.owner_id, held.label("held"))
            .where(*conditions)
            .group_by(keys.c.owner_id)
            .order_by(keys.c.owner_id)
            .limit(limit)
        )
        return [(str(r.owner_id), int(r.held or 0)) for r in found]

    async def delete_owner(self, workspace_id: str, owner_id: str) -> bool:
        async with self._tx() as c:
            result = await c.execute(
                owners.delete().where(
                    (owners.c.workspace_id == workspace_id) & (owners.c.owner_id == owner_id)
                )
            )
        return bool(result.rowcount)

    # credits mirror ---------------------------------------------------------
    async def get_credits_remaining(self, key_id: str) -> int | None:
        row = await self._one(sa.select(keys.c.credits_remaining).where(keys.c.id == key_id))
        return None if row is None or row[0] is None else int(row[0])

    async def put_credits_remaining(self, balances: Mapping[str, int | None]) -> None:
        """Mirror live balances into the store (reconciliation), in key id order."""
        if not balances:
            return
        stmt = (
            keys.update()
            .where(keys.c.id == sa.bindparam("b_id"))
            .values(credits_remaining=sa.bindparam("b_left"))
        )
        batch = [{"b_id": k, "b_left": balances[k]} for k in sorted(balances)]
        async with self._tx() as c:
            await c.execute(stmt, batch)
