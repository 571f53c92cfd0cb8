"""Sealed material on SQLite and PostgreSQL, kind by kind (``sealed_kinds.KINDS``).

Its methods restate ``store.sealed.SealedStore``: the protocol other backends implement too.
A batch of replacements is one transaction of conditional UPDATEs (executemany),
each ``WHERE <identity> AND <sealed column> = <the bytes read>``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from keystead.store.sealed import Identity, Replacement, SealedRow
from keystead.store.sql.base import SqlBase
from keystead.store.sql.sealed_kinds import KINDS, SealedKind

_BY_NAME = {kind.name: kind for kind in KINDS}


def _kind(name: str) -> SealedKind:
    found = _BY_NAME.get(name)
    if found is None:
        raise ValueError(f"no sealed material of kind '{name}'")
    return found


class SealedQueries(SqlBase):
    def sealed_kinds(self) -> list[str]:
        return [kind.name for kind in KINDS]

    async def count_sealed(self) -> dict[str, dict[int, int]]:
        counts: dict[str, dict[int, int]] = {}
        for kind in KINDS:
            version = kind.column(kind.key_version)
            found = await self._all(
                sa.select(version.label("v"), sa.func.count().label("n"))
                .where(kind.present() & version.is_not(None))
                .group_by(version)
            )
            counts[kind.name] = {int(r.v): int(r.n) for r in found}
        return counts

    async def count_legacy_sealed(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for kind in KINDS:
            if kind.legacy:
                found = await self._one(sa.select(sa.func.count().label("n")).where(_legacy(kind)))
                counts[kind.name] = 0 if found is None else int(found.n)
        return counts

    async def sealed_batch(
        self,
        kind: str,
        *,
        legacy: bool,
        not_version: int | None,
        after: Identity | None,
        limit: int,
    ) -> list[SealedRow]:
        k = _kind(kind)
        version = k.column(k.key_version)
        identity = [k.column(name) for name in k.identity]
        if legacy:
            if not k.legacy:
                return []
            where = _legacy(k)
        else:
            where = k.present() & version.is_not(None)
            if not_version is not None:
                where = where & (version != not_version)
        if after is not None:
            where = where & (sa.tuple_(*identity) > sa.tuple_(*after))
        stmt = (
            sa.select(
                *identity,
                version.label("ks_key_version"),
                k.column(k.blob).label("ks_blob"),
                *(k.column(name).label(f"ks_place_{name}") for name in k.place),
            )
            .where(where)
            .order_by(*identity)
            .limit(limit)
        )
        found = await self._all(stmt)
        return [
            SealedRow(
                kind=k.name,
                identity=tuple(r._mapping[c] for c in identity),
                key_version=None if r.ks_key_version is None else int(r.ks_key_version),
                blob=bytes(r.ks_blob),
                place=tuple(str(r._mapping[f"ks_place_{name}"]) for name in k.place),
            )
            for r in found
        ]

    async def replace_sealed(self, kind: str, replacements: Sequence[Replacement]) -> int:
        if not replacements:
            return 0
        k = _kind(kind)
        blob = k.column(k.blob)
        identity = [k.column(name) for name in k.identity]
        where = sa.and_(
            *(c == sa.bindparam(f"ks_id_{i}") for i, c in enumerate(identity)),
            blob == sa.bindparam("ks_old_blob", type_=sa.LargeBinary),
        )
        stmt = (
            k.table.update()
            .where(where)
            .values(
                {
                    k.blob: sa.bindparam("ks_new_blob", type_=sa.LargeBinary),
                    k.key_version: sa.bindparam("ks_new_version", type_=sa.Integer),
                }
            )
        )
        params = [
            {
                **{f"ks_id_{i}": value for i, value in enumerate(item.row.identity)},
                "ks_old_blob": item.row.blob,
                "ks_new_blob": item.blob,
                "ks_new_version": item.key_version,
            }
            for item in replacements
        ]
        async with self._tx() as c:
            await c.execute(stmt, params)
            # executemany row counts are not reliable on every driver: count what is stored
            stored = await c.execute(
                sa.select(sa.func.count().label("n")).where(
                    sa.tuple_(*identity, blob).in_(
                        [(*item.row.identity, item.blob) for item in replacements]
                    )
                )
            )
            return int(stored.scalar_one())


def _legacy(kind: SealedKind) -> sa.ColumnElement[bool]:
    return kind.present() & kind.column(kind.key_version).is_(None)


__all__ = ["SealedQueries"]
