"""SQL queries of imported keys (``store.key_imports``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from keystead.core.events import Event
from keystead.core.hashing import StoredHash
from keystead.core.legacy_hashes import from_stored, lookup_digest, to_stored
from keystead.store.key_imports import ImportedKey, LegacyEntry
from keystead.store.sql.base import SqlBase
from keystead.store.sql.lifecycle_queries import write_events
from keystead.store.sql.rows import key_values
from keystead.store.sql.tables import key_imports, keys

_i = key_imports


class KeyImportQueries(SqlBase):
    async def imported_ids(self, workspace_id: str, external_ids: Sequence[str]) -> dict[str, str]:
        if not external_ids:
            return {}
        found = await self._all(
            sa.select(_i.c.external_id, _i.c.key_id).where(
                (_i.c.workspace_id == workspace_id) & _i.c.external_id.in_(sorted(external_ids))
            )
        )
        return {row.external_id: row.key_id for row in found}

    async def insert_imported(self, rows: Sequence[ImportedKey], events: Sequence[Event]) -> None:
        if not rows:
            return
        now = rows[0].key.created_at
        async with self._tx() as c:
            await c.execute(keys.insert(), [key_values(r.key, r.key_hash) for r in rows])
            await c.execute(
                _i.insert(),
                [
                    {
                        "key_id": r.key.id,
                        "workspace_id": r.key.workspace_id,
                        "external_id": r.external_id,
                        "scheme": r.scheme,
                        "lookup": None if r.legacy is None else lookup_digest(r.legacy.lookup),
                        "legacy_hash": None if r.legacy is None else to_stored(r.legacy),
                        "shaped_prefix": r.shaped_prefix,
                        "imported_at": now,
                        "rehashed_at": now if r.legacy is None else None,
                    }
                    for r in rows
                ],
            )
            await write_events(c, events)

    async def find_legacy(self, lookups: Sequence[str]) -> list[LegacyEntry]:
        texts = {lookup_digest(text): text for text in lookups}
        found = await self._all(
            sa.select(_i.c.key_id, _i.c.scheme, _i.c.lookup, _i.c.legacy_hash).where(
                _i.c.lookup.in_(sorted(texts))
            )
        )
        return [
            LegacyEntry(
                row.key_id,
                texts[row.lookup],
                None
                if row.legacy_hash is None
                else from_stored(row.scheme, bytes(row.legacy_hash), texts[row.lookup]),
            )
            for row in found
        ]

    async def rehash_legacy(self, key_id: str, new_hash: StoredHash, at: datetime) -> bool:
        async with self._tx() as c:
            moved = await c.execute(
                keys.update()
                .where((keys.c.id == key_id) & (keys.c.hash_version == 0))
                .values(key_hash=bytes(new_hash), hash_version=new_hash.version)
            )
            if not moved.rowcount:
                return False
            await c.execute(
                _i.update().where(_i.c.key_id == key_id).values(legacy_hash=None, rehashed_at=at)
            )
        return True

    async def count_imports(self, workspace_id: str | None) -> dict[str, tuple[int, int]]:
        stmt = sa.select(
            _i.c.scheme,
            sa.func.count().label("total"),
            sa.func.count(_i.c.legacy_hash).label("pending"),
        ).group_by(_i.c.scheme)
        if workspace_id is not None:
            stmt = stmt.where(_i.c.workspace_id == workspace_id)
        found = await self._all(stmt)
        return {row.scheme: (int(row.total), int(row.pending)) for row in found}

    async def imported_prefixes(self) -> frozenset[str] | None:
        if await self._one(sa.select(_i.c.key_id).limit(1)) is None:
            return None
        found = await self._all(
            sa.select(_i.c.shaped_prefix).distinct().where(_i.c.shaped_prefix.is_not(None))
        )
        return frozenset(row.shaped_prefix for row in found)


__all__ = ["KeyImportQueries"]
