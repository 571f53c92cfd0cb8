"""Owner public keys, pickups, recorded key actions and incidents.

Its methods restate ``store.custody.CustodyStore``: the protocol other backends implement too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.core.events import Event
from keystead.core.models import Key, Owner, Pickup
from keystead.store.custody import Claim, Incident, KeyAction, Scope
from keystead.store.sql import rows
from keystead.store.sql.base import SqlBase
from keystead.store.sql.lifecycle_queries import write_events
from keystead.store.sql.tables import incidents, key_actions, keys, owners, pickups

_KEY_UPDATABLE = frozenset({"enabled", "revoked_at", "updated_at"})
_INCIDENT_UPDATABLE = frozenset({"status", "notes", "evidence", "updated_at"})


def _key_action(row: sa.Row[Any]) -> KeyAction:
    return KeyAction(
        id=row.id,
        workspace_id=row.workspace_id,
        key_id=row.key_id,
        action=row.action,
        cause=dict(row.cause),
        actor=row.actor,
        result=dict(row.result),
        created_at=_utc(row.created_at),
    )


def _incident(row: sa.Row[Any]) -> Incident:
    return Incident(
        id=row.id,
        workspace_id=row.workspace_id,
        key_id=row.key_id,
        status=row.status,
        cause=dict(row.cause),
        replacement_key_id=row.replacement_key_id,
        evidence=dict(row.evidence),
        notes=row.notes,
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
        created_by=row.created_by,
    )


def _utc(value: datetime) -> datetime:
    stamped = rows.aware(value)
    assert stamped is not None  # noqa: S101 - NOT NULL columns
    return stamped


def _action_values(action: KeyAction) -> dict[str, Any]:
    return {
        "id": action.id,
        "workspace_id": action.workspace_id,
        "key_id": action.key_id,
        "action": action.action,
        "cause": action.cause,
        "actor": action.actor,
        "result": action.result,
        "created_at": action.created_at,
    }


def _scoped(
    stmt: sa.Select[Any], key_column: sa.ColumnElement[str], scope: Scope
) -> sa.Select[Any]:
    """Only rows whose key a narrowed root key may see (its APIs, its owner). A
    row whose key was deleted is seen by unnarrowed callers only."""
    if not scope.narrowed:
        return stmt
    stmt = stmt.join(keys, keys.c.id == key_column)
    if scope.api_ids is not None:
        stmt = stmt.where(keys.c.api_id.in_(sorted(scope.api_ids)))
    if scope.owner_id is not None:
        stmt = stmt.where(keys.c.owner_id == scope.owner_id)
    return stmt


class CustodyQueries(SqlBase):
    # owner public keys ------------------------------------------------------
    async def set_owner_public_jwk(
        self, workspace_id: str, owner_id: str, jwk: Mapping[str, Any] | None, at: datetime
    ) -> Owner | None:
        """Set (or with None, clear) the owner's public JWK, creating the owner
        with no limits when absent; its limits are never touched. None when
        clearing an owner that does not exist."""
        scope = (owners.c.workspace_id == workspace_id) & (owners.c.owner_id == owner_id)
        value: Any = sa.null() if jwk is None else dict(jwk)
        async with self._tx() as c:
            result = await c.execute(
                owners.update().where(scope).values(public_jwk=value, updated_at=at)
            )
            if not result.rowcount:
                if jwk is None:
                    return None
                await c.execute(
                    owners.insert().values(
                        workspace_id=workspace_id,
                        owner_id=owner_id,
                        limits={},
                        created_at=at,
                        updated_at=at,
                        public_jwk=value,
                    )
                )
            row = (await c.execute(sa.select(owners).where(scope))).one()
        return rows.owner(row)

    # pickups ----------------------------------------------------------------
    async def get_pickup(self, workspace_id: str, pickup_id: str) -> Pickup | None:
        row = await self._one(
            sa.select(pickups).where(
                (pickups.c.workspace_id == workspace_id) & (pickups.c.id == pickup_id)
            )
        )
        return None if row is None else rows.pickup(row)

    async def list_pickups(
        self, workspace_id: str, scope: Scope, *, after: str | None, limit: int
    ) -> list[Pickup]:
        # a pickup names its owner itself; only the API scope needs the key
        stmt = _scoped(sa.select(pickups), pickups.c.key_id, Scope(api_ids=scope.api_ids))
        stmt = stmt.where(pickups.c.workspace_id == workspace_id)
        if scope.owner_id is not None:
            stmt = stmt.where(pickups.c.owner_id == scope.owner_id)
        if after is not None:
            stmt = stmt.where(pickups.c.id > after)
        found = await self._all(stmt.order_by(pickups.c.id).limit(limit))
        return [rows.pickup(r) for r in found]

    async def claim_pickup(
        self, workspace_id: str, pickup_id: str, claimed_by: str, now: datetime
    ) -> Claim:
        """Hand out the ciphertext once. The conditional UPDATE (``claimed_at IS
        NULL``) decides between concurrent claims: the winner reads and erases
        the ciphertext in the same transaction, every other claim sees it taken.
        An expired pickup is erased and reported as such."""
        scope = (pickups.c.workspace_id == workspace_id) & (pickups.c.id == pickup_id)
        async with self._tx() as c:
            won = await c.execute(
                pickups.update()
                .where(
                    scope
                    & pickups.c.claimed_at.is_(None)
                    & pickups.c.ciphertext.is_not(None)
                    & (pickups.c.expires_at > now)
                )
                .values(claimed_at=now, claimed_by=claimed_by)
            )
            row = (await c.execute(sa.select(pickups).where(scope))).first()
            if row is None:
                return Claim("missing")
            if won.rowcount:
                ciphertext = bytes(row.ciphertext)
                await _erase(c, scope)
                return Claim("claimed", _erased(rows.pickup(row)), ciphertext)
            if row.claimed_at is not None:
                return Claim("taken", _erased(rows.pickup(row)))
            if row.ciphertext is not None:
                await _erase(c, scope)
            return Claim("expired", _erased(rows.pickup(row)))

    async def purge_pickups(self, now: datetime) -> int:
        """Erase the ciphertext of every expired, unclaimed pickup (all
        workspaces); the rows stay as a record. Returns how many were erased."""
        async with self._tx() as c:
            result = await c.execute(
                pickups.update()
                .where(pickups.c.ciphertext.is_not(None) & (pickups.c.expires_at <= now))
                .values(ciphertext=None)
            )
        return int(result.rowcount or 0)

    # key actions ------------------------------------------------------------
    async def act_on_key(
        self,
        workspace_id: str,
        key_id: str,
        values: Mapping[str, Any],
        events: Callable[[Key], Sequence[Event]],
        action: Callable[[Key], KeyAction],
    ) -> Key | None:
        """Apply ``values`` to the key, append its events and record the action
        that caused them, in one transaction (None when the key is gone)."""
        unknown = set(values) - _KEY_UPDATABLE
        if unknown:
            raise ValueError(f"not updatable here: {sorted(unknown)}")
        scope = (keys.c.workspace_id == workspace_id) & (keys.c.id == key_id)
        async with self._tx() as c:
            if values:
                await c.execute(keys.update().where(scope).values(**values))
            row = (await c.execute(sa.select(*rows.KEY_COLUMNS).where(scope))).first()
            if row is None:
                return None
            updated = rows.key(row)
            await write_events(c, events(updated))
            await c.execute(key_actions.insert().values(**_action_values(action(updated))))
        return updated

    async def insert_key_action(self, action: KeyAction) -> None:
        async with self._tx() as c:
            await c.execute(key_actions.insert().values(**_action_values(action)))

    async def list_key_actions(
        self, workspace_id: str, key_id: str, *, after: str | None, limit: int
    ) -> list[KeyAction]:
        stmt = sa.select(key_actions).where(
            (key_actions.c.workspace_id == workspace_id) & (key_actions.c.key_id == key_id)
        )
        if after is not None:
            stmt = stmt.where(key_actions.c.id > after)
        found = await self._all(stmt.order_by(key_actions.c.id).limit(limit))
        return [_key_action(r) for r in found]

    # incidents --------------------------------------------------------------
    async def insert_incident(
        self, incident: Incident, events: Sequence[Event], action: KeyAction | None = None
    ) -> None:
        """The incident, its notification events and the action record, together."""
        async with self._tx() as c:
            await c.execute(
                incidents.insert().values(
                    id=incident.id,
                    workspace_id=incident.workspace_id,
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
            )
            await write_events(c, events)
            if action is not None:
                await c.execute(key_actions.insert().values(**_action_values(action)))

    async def get_incident(
        self, workspace_id: str, incident_id: str, scope: Scope
    ) -> Incident | None:
        stmt = _scoped(sa.select(incidents), incidents.c.key_id, scope).where(
            (incidents.c.workspace_id == workspace_id) & (incidents.c.id == incident_id)
        )
        row = await self._one(stmt)
        return None if row is None else _incident(row)

    async def list_incidents(
        self,
        workspace_id: str,
        scope: Scope,
        *,
        status: str | None,
        key_id: str | None,
        after: str | None,
        limit: int,
    ) -> list[Incident]:
        stmt = _scoped(sa.select(incidents), incidents.c.key_id, scope)
        stmt = stmt.where(incidents.c.workspace_id == workspace_id)
        if status is not None:
            stmt = stmt.where(incidents.c.status == status)
        if key_id is not None:
            stmt = stmt.where(incidents.c.key_id == key_id)
        if after is not None:
            stmt = stmt.where(incidents.c.id > after)
        found = await self._all(stmt.order_by(incidents.c.id).limit(limit))
        return [_incident(r) for r in found]

    async def update_incident(
        self, workspace_id: str, incident_id: str, values: Mapping[str, Any]
    ) -> Incident | None:
        unknown = set(values) - _INCIDENT_UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        scope = (incidents.c.workspace_id == workspace_id) & (incidents.c.id == incident_id)
        async with self._tx() as c:
            await c.execute(incidents.update().where(scope).values(**values))
            row = (await c.execute(sa.select(incidents).where(scope))).first()
        return None if row is None else _incident(row)


async def _erase(connection: AsyncConnection, scope: sa.ColumnElement[bool]) -> None:
    await connection.execute(pickups.update().where(scope).values(ciphertext=None))


def _erased(pickup: Pickup) -> Pickup:
    """The record as it is once the transaction commits: no ciphertext."""
    return dataclasses.replace(pickup, ciphertext=None)


__all__ = ["CustodyQueries"]
