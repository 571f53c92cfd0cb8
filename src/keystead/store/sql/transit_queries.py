"""Transit keys on SQLite and PostgreSQL.

Its methods restate ``store.transit.TransitStore``: the protocol other backends implement too.

A rotation is one conditional statement, ``UPDATE ... SET latest_version = n + 1 WHERE
... AND latest_version = n``, first in its transaction (see ``secret_queries``): a
concurrent rotation expecting ``n`` updates nothing and adds no version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.core.events import Event
from keystead.core.transit import SealedTransitVersion, TransitKey, TransitKeyVersion
from keystead.errors import Conflict
from keystead.store.sql.base import SqlBase
from keystead.store.sql.lifecycle_queries import write_events
from keystead.store.sql.tables import transit_key_versions, transit_keys
from keystead.store.transit import KeyUse

_INFO = [c for c in transit_key_versions.c if c.name != "sealed"]


def _where(workspace_id: str, mount: str, name: str) -> sa.ColumnElement[bool]:
    t = transit_keys.c
    return (t.workspace_id == workspace_id) & (t.mount == mount) & (t.name == name)


class TransitQueries(SqlBase):
    async def insert_transit_key(
        self, key: TransitKey, first: SealedTransitVersion, events: Sequence[Event] = ()
    ) -> bool:
        try:
            async with self._tx() as c:
                await c.execute(transit_keys.insert().values(**_key_values(key)))
                await c.execute(transit_key_versions.insert().values(**_version(key.id, first)))
                await write_events(c, events)
        except Conflict:
            return False
        return True

    async def get_transit_key(self, workspace_id: str, mount: str, name: str) -> TransitKey | None:
        async with self._errors(), self._reader.connect() as c:
            return await _load(c, _where(workspace_id, mount, name))

    async def use_transit_key(
        self, workspace_id: str, mount: str, name: str, on_use: KeyUse
    ) -> TransitKey | None:
        row = await self._one(sa.select(transit_keys).where(_where(workspace_id, mount, name)))
        key = None if row is None else _key(row, ())
        if key is not None:
            on_use(key)
        return key

    async def get_transit_key_versions(
        self, workspace_id: str, key_id: str, versions: Sequence[int]
    ) -> list[SealedTransitVersion]:
        v, k = transit_key_versions.c, transit_keys.c
        found = await self._all(
            sa.select(transit_key_versions)
            .join(transit_keys, k.id == v.key_id)
            .where(
                (k.workspace_id == workspace_id)
                & (v.key_id == key_id)
                & v.version.in_(sorted(set(versions)))
            )
            .order_by(v.version)
        )
        return [SealedTransitVersion(_info(r), bytes(r.sealed)) for r in found]

    async def add_transit_key_version(
        self,
        workspace_id: str,
        mount: str,
        name: str,
        version: SealedTransitVersion,
        *,
        expected: int,
        events: Sequence[Event] = (),
    ) -> TransitKey | None:
        where = _where(workspace_id, mount, name)
        number = version.info.version
        async with self._tx() as c:
            updated = await c.execute(
                transit_keys.update()
                .where(where & (transit_keys.c.latest_version == expected))
                .values(latest_version=number, updated_at=version.info.created_time)
            )
            if not updated.rowcount:
                return None
            key_id = (await c.execute(sa.select(transit_keys.c.id).where(where))).scalar_one()
            await c.execute(transit_key_versions.insert().values(**_version(key_id, version)))
            await write_events(c, events)
            return await _load(c, where)

    async def update_transit_key(self, key: TransitKey) -> TransitKey | None:
        where = _where(key.workspace_id, key.mount, key.name)
        async with self._tx() as c:
            updated = await c.execute(
                transit_keys.update()
                .where(where & (transit_keys.c.latest_version == key.latest_version))
                .values(
                    min_decryption_version=key.min_decryption_version,
                    min_encryption_version=key.min_encryption_version,
                    deletion_allowed=key.deletion_allowed,
                    updated_at=key.updated_time,
                )
            )
            if not updated.rowcount:
                return None
            return await _load(c, where)

    async def delete_transit_key(
        self, workspace_id: str, mount: str, name: str, events: Sequence[Event] = ()
    ) -> bool:
        where = _where(workspace_id, mount, name)
        async with self._tx() as c:
            key_id = (await c.execute(sa.select(transit_keys.c.id).where(where))).scalar()
            if key_id is None:
                return False
            # explicit: SQLite enforces the cascade only with foreign_keys on
            await c.execute(
                transit_key_versions.delete().where(transit_key_versions.c.key_id == key_id)
            )
            await c.execute(transit_keys.delete().where(transit_keys.c.id == key_id))
            await write_events(c, events)
        return True

    async def list_transit_keys(self, workspace_id: str, mount: str) -> list[str]:
        t = transit_keys.c
        found = await self._all(
            sa.select(t.name)
            .where((t.workspace_id == workspace_id) & (t.mount == mount))
            .order_by(t.name)
        )
        return [str(r.name) for r in found]


async def _load(c: AsyncConnection, where: sa.ColumnElement[bool]) -> TransitKey | None:
    row = (await c.execute(sa.select(transit_keys).where(where))).first()
    if row is None:
        return None
    v = transit_key_versions.c
    found = await c.execute(sa.select(*_INFO).where(v.key_id == row.id).order_by(v.version))
    return _key(row, tuple(_info(r) for r in found))


def _key(row: sa.Row[Any], versions: tuple[TransitKeyVersion, ...]) -> TransitKey:
    return TransitKey(
        id=row.id,
        workspace_id=row.workspace_id,
        mount=row.mount,
        name=row.name,
        type=row.type,
        created_time=_at(row.created_at),
        updated_time=_at(row.updated_at),
        latest_version=int(row.latest_version),
        min_decryption_version=int(row.min_decryption_version),
        min_encryption_version=int(row.min_encryption_version),
        deletion_allowed=bool(row.deletion_allowed),
        versions=versions,
    )


def _info(row: sa.Row[Any]) -> TransitKeyVersion:
    return TransitKeyVersion(int(row.version), _at(row.created_at), int(row.key_version))


def _key_values(key: TransitKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "workspace_id": key.workspace_id,
        "mount": key.mount,
        "name": key.name,
        "type": key.type,
        "latest_version": key.latest_version,
        "min_decryption_version": key.min_decryption_version,
        "min_encryption_version": key.min_encryption_version,
        "deletion_allowed": key.deletion_allowed,
        "created_at": key.created_time,
        "updated_at": key.updated_time,
    }


def _version(key_id: str, item: SealedTransitVersion) -> dict[str, Any]:
    return {
        "key_id": key_id,
        "version": item.info.version,
        "sealed": item.sealed,
        "key_version": item.info.key_version,
        "created_at": item.info.created_time,
    }


def _at(value: datetime) -> datetime:
    """SQLite returns naive datetimes: they are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


__all__ = ["TransitQueries"]
