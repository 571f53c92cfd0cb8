"""SQL queries of the server secret's versions (``store.server_secret``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from keystead.core.hashing import StoredHash
from keystead.core.secret_versions import BASE_VERSION, SecretVersion
from keystead.store.server_secret import SealedSecretVersion
from keystead.store.sql.base import SqlBase
from keystead.store.sql.rows import aware
from keystead.store.sql.tables import keys, root_keys, server_secret_versions

_v = server_secret_versions


def _stamp(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _seconds(value: datetime | None) -> float | None:
    found = aware(value)
    return None if found is None else found.timestamp()


def _version(row: sa.Row[Any]) -> SealedSecretVersion:
    return SealedSecretVersion(
        SecretVersion(
            row.version,
            _seconds(row.created_at) or 0.0,
            _seconds(row.activates_at) or 0.0,
            _seconds(row.retired_at),
        ),
        row.sealed,
    )


class ServerSecretQueries(SqlBase):
    async def list_secret_versions(self) -> list[SealedSecretVersion]:
        return [_version(r) for r in await self._all(sa.select(_v).order_by(_v.c.version))]

    async def add_secret_version(
        self, version: SecretVersion, sealed: bytes, key_version: int
    ) -> None:
        async with self._tx() as c:
            await c.execute(
                _v.insert().values(
                    version=version.version,
                    sealed=sealed,
                    key_version=key_version,
                    created_at=_stamp(version.created_at),
                    activates_at=_stamp(version.activates_at),
                    retired_at=None,
                )
            )

    async def retire_secret_version(self, version: int, at: datetime) -> bool:
        async with self._tx() as c:
            changed = await c.execute(
                _v.update()
                .where((_v.c.version == version) & _v.c.retired_at.is_(None))
                .values(retired_at=at, sealed=None, key_version=None)
            )
            if changed.rowcount:
                return True
            if version != BASE_VERSION:
                return False
            # version 1 has a row only once something happened to it (a retirement
            # racing with this one: a Conflict)
            await c.execute(
                _v.insert().values(
                    version=BASE_VERSION,
                    sealed=None,
                    key_version=None,
                    created_at=_stamp(0.0),
                    activates_at=_stamp(0.0),
                    retired_at=at,
                )
            )
            return True

    async def count_hash_versions(self) -> dict[int, tuple[int, int]]:
        counts: dict[int, list[int]] = {}
        for slot, table in enumerate((keys, root_keys)):
            found = await self._all(
                sa.select(table.c.hash_version, sa.func.count().label("n")).group_by(
                    table.c.hash_version
                )
            )
            for row in found:
                counts.setdefault(int(row.hash_version), [0, 0])[slot] = int(row.n)
        return {v: (pair[0], pair[1]) for v, pair in sorted(counts.items())}

    async def rehash_key(self, key_id: str, old_hash: bytes, new_hash: StoredHash) -> bool:
        return await self._rehash(keys, key_id, old_hash, new_hash)

    async def rehash_root_key(
        self, root_key_id: str, old_hash: bytes, new_hash: StoredHash
    ) -> bool:
        return await self._rehash(root_keys, root_key_id, old_hash, new_hash)

    async def _rehash(
        self, table: sa.Table, ident: str, old_hash: bytes, new_hash: StoredHash
    ) -> bool:
        async with self._tx() as c:
            changed = await c.execute(
                table.update()
                .where((table.c.id == ident) & (table.c.key_hash == old_hash))
                .values(key_hash=bytes(new_hash), hash_version=new_hash.version)
            )
        return bool(changed.rowcount)


__all__ = ["ServerSecretQueries"]
