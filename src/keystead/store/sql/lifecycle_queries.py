"""Rotation, the event outbox, scheduler leases and the scans the scheduler runs.

Its methods restate ``store.lifecycle.LifecycleStore``: the protocol other backends implement too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.core.events import Event
from keystead.core.models import Key, Pickup
from keystead.errors import Conflict, NotFound
from keystead.store.lifecycle import LifecycleCandidate
from keystead.store.sql import rows
from keystead.store.sql.base import SqlBase
from keystead.store.sql.tables import apis, keys, leases, outbox, pickups

_NOTICE_COLUMNS = frozenset({"expiring_notified_at", "expired_notified_at"})


async def write_events(connection: AsyncConnection, events: Sequence[Event]) -> None:
    """Append events to the outbox inside the caller's transaction."""
    if events:
        await connection.execute(
            outbox.insert(),
            [
                {
                    "id": e.id,
                    "workspace_id": e.workspace_id,
                    "type": e.type,
                    "data": e.data,
                    "created_at": e.created_at,
                    "dispatched_at": None,
                }
                for e in events
            ],
        )


class LifecycleQueries(SqlBase):
    async def append_events(self, events: Sequence[Event]) -> None:
        async with self._tx() as c:
            await write_events(c, events)

    async def rotate_key(
        self,
        workspace_id: str,
        old_id: str,
        old_values: Mapping[str, Any],
        new_key: Key,
        new_hash: bytes,
        events: Callable[[Key, Key], Sequence[Event]],
        pickup: Pickup | None = None,
    ) -> tuple[Key, Key]:
        """Link ``old_id`` to ``new_key`` and store the new key (and the pickup
        that holds it for its owner), in one transaction.

        Only a key that was never rotated can be: a second rotation of the same
        key (two nodes, or a retried request) raises ``Conflict`` and stores
        nothing. The new key starts with the old key's credits mirror."""
        scope = (keys.c.workspace_id == workspace_id) & (keys.c.id == old_id)
        async with self._tx() as c:
            # one round trip links the old key and reads it back (RETURNING works on
            # PostgreSQL and on SQLite 3.35+)
            unrotated = scope & keys.c.rotated_to.is_(None)
            link = keys.update().where(unrotated).values(rotated_to=new_key.id, **old_values)
            linked: Any
            if self.dialect == "mysql":  # no UPDATE ... RETURNING: linked, then read back
                read = sa.select(*rows.KEY_COLUMNS, keys.c.credits_remaining).where(scope)
                done = await c.execute(link)  # the row stays locked until the commit
                linked = (await c.execute(read)).first() if done.rowcount == 1 else None
            else:
                returned = link.returning(*rows.KEY_COLUMNS, keys.c.credits_remaining)
                linked = (await c.execute(returned)).first()
            if linked is None:
                exists = (await c.execute(sa.select(keys.c.rotated_to).where(scope))).first()
                if exists is None:
                    raise NotFound(f"no key '{old_id}'")
                raise Conflict(f"key '{old_id}' was already rotated to '{exists.rotated_to}'")
            await c.execute(
                keys.insert().values(
                    **rows.key_values(new_key, new_hash),
                    credits_remaining=linked.credits_remaining,
                )
            )
            if pickup is not None:
                await c.execute(pickups.insert().values(**rows.pickup_values(pickup)))
            old = rows.key(linked)
            await write_events(c, events(old, new_key))
        return old, new_key

    async def policy_apis(self) -> list[tuple[str, dict[str, Any]]]:
        """Every API with a rotation policy: (id, policy)."""
        found = await self._all(
            sa.select(apis.c.id, apis.c.rotation_policy)
            .where(apis.c.rotation_policy.is_not(None))
            .order_by(apis.c.id)
        )
        return [(r.id, dict(r.rotation_policy)) for r in found]

    async def keys_with_own_policy(
        self, *, after: str | None, limit: int
    ) -> list[LifecycleCandidate]:
        """Live, not yet rotated keys with a policy of their own (a partial index
        holds just these)."""
        return await self._candidates(
            keys.c.rotated_to.is_(None) & keys.c.rotation_policy.is_not(None), after, limit
        )

    async def keys_aged(
        self, api_id: str, created_before: datetime, *, after: str | None, limit: int
    ) -> list[LifecycleCandidate]:
        """Live, not yet rotated keys of one API, following its policy (none of
        their own), created at or before ``created_before`` (index: api, created)."""
        return await self._candidates(
            (keys.c.api_id == api_id)
            & (keys.c.created_at <= created_before)
            & keys.c.rotated_to.is_(None)
            & keys.c.rotation_policy.is_(None),
            after,
            limit,
        )

    async def keys_expiring(
        self, before: datetime, now: datetime, *, after: str | None, limit: int
    ) -> list[LifecycleCandidate]:
        """Live keys whose expiry passed unannounced, or comes before ``before``
        without a warning sent yet (index: expires_at)."""
        passed = (keys.c.expires_at <= now) & keys.c.expired_notified_at.is_(None)
        coming = (
            (keys.c.expires_at > now)
            & keys.c.expiring_notified_at.is_(None)
            & keys.c.rotated_to.is_(None)
        )
        return await self._candidates(
            keys.c.expires_at.is_not(None) & (keys.c.expires_at <= before) & (passed | coming),
            after,
            limit,
        )

    async def _candidates(
        self, condition: sa.ColumnElement[bool], after: str | None, limit: int
    ) -> list[LifecycleCandidate]:
        stmt = (
            sa.select(
                *rows.KEY_COLUMNS,
                apis.c.rotation_policy.label("api_policy"),
                keys.c.expiring_notified_at,
                keys.c.expired_notified_at,
            )
            .join_from(keys, apis, apis.c.id == keys.c.api_id)
            .where(keys.c.revoked_at.is_(None) & condition)
        )
        if after is not None:
            stmt = stmt.where(keys.c.id > after)
        found = await self._all(stmt.order_by(keys.c.id).limit(limit))
        return [
            LifecycleCandidate(
                key=rows.key(r),
                api_policy=None if r.api_policy is None else dict(r.api_policy),
                expiring_notified_at=rows.aware(r.expiring_notified_at),
                expired_notified_at=rows.aware(r.expired_notified_at),
            )
            for r in found
        ]

    async def mark_notified(
        self, column: str, notices: Sequence[tuple[str, Event]], at: datetime
    ) -> int:
        """Set ``column`` on each key that does not have it yet and append its
        event in the same transaction: each notice is sent once, however many
        times it is attempted. Returns how many were marked."""
        if column not in _NOTICE_COLUMNS:
            raise ValueError(f"not a notice column: {column}")
        marked = 0
        async with self._tx() as c:
            for key_id, event in notices:
                result = await c.execute(
                    keys.update()
                    .where((keys.c.id == key_id) & keys.c[column].is_(None))
                    .values({column: at})
                )
                if result.rowcount:
                    marked += 1
                    await write_events(c, [event])
        return marked

    async def acquire_lease(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take or extend the lease ``name`` for ``holder`` until ``until``.
        False while another holder's lease is unexpired."""
        async with self._tx() as c:
            result = await c.execute(
                leases.update()
                .where(
                    (leases.c.name == name)
                    & ((leases.c.holder == holder) | (leases.c.expires_at < now))
                )
                .values(holder=holder, expires_at=until)
            )
            if result.rowcount:
                return True
        try:
            async with self._tx() as c:
                await c.execute(leases.insert().values(name=name, holder=holder, expires_at=until))
        except Conflict:
            return False
        return True

    async def release_lease(self, name: str, holder: str) -> None:
        async with self._tx() as c:
            await c.execute(
                leases.delete().where((leases.c.name == name) & (leases.c.holder == holder))
            )

    async def list_events(self, workspace_id: str, *, after: str | None, limit: int) -> list[Event]:
        stmt = sa.select(outbox).where(outbox.c.workspace_id == workspace_id)
        if after is not None:
            stmt = stmt.where(outbox.c.id > after)
        found = await self._all(stmt.order_by(outbox.c.id).limit(limit))
        return [rows.event(r) for r in found]


__all__ = ["LifecycleQueries", "write_events"]
