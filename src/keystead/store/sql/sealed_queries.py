"""Sealed material on SQLite and PostgreSQL, kind by kind (``sealed_kinds.KINDS``).

Its methods restate ``store.sealed.SealedStore``: the protocol other backends implement too.
A batch of replacements is one transaction of conditional updates, each ``WHERE
<identity> AND <sealed column> = <the bytes read>``: on PostgreSQL one statement
over arrays (``UPDATE ... FROM unnest(...) ... RETURNING``), on SQLite one
statement per row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

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
        async with self._tx() as c:
            if c.dialect.name == "postgresql":
                return await _replace_on_postgresql(c, k, replacements)
            stored = 0
            stmt = _conditional_update(k)
            for item in replacements:  # SQLite: each statement is a cheap local call
                done = await c.execute(stmt, _params(item))
                stored += done.rowcount or 0
            return stored


def _conditional_update(kind: SealedKind) -> sa.Update:
    return (
        kind.table.update()
        .where(
            sa.and_(
                *(
                    kind.column(name) == sa.bindparam(f"ks_id_{i}")
                    for i, name in enumerate(kind.identity)
                ),
                kind.column(kind.blob) == sa.bindparam("ks_old", type_=sa.LargeBinary),
            )
        )
        .values(
            {
                kind.blob: sa.bindparam("ks_new", type_=sa.LargeBinary),
                kind.key_version: sa.bindparam("ks_version", type_=sa.Integer),
            }
        )
    )


def _params(item: Replacement) -> dict[str, object]:
    return {
        **{f"ks_id_{i}": value for i, value in enumerate(item.row.identity)},
        "ks_old": item.row.blob,
        "ks_new": item.blob,
        "ks_version": item.key_version,
    }


async def _replace_on_postgresql(
    c: AsyncConnection, kind: SealedKind, replacements: Sequence[Replacement]
) -> int:
    """One statement for the whole batch: ``UPDATE ... FROM unnest(arrays)``, the
    rows it returns being the ones stored (a constant statement, so it is compiled
    and planned once, whatever the batch size)."""
    identity = [kind.column(name) for name in kind.identity]
    arrays = [
        *(sa.bindparam(f"ks_id_{i}", type_=ARRAY(c.type)) for i, c in enumerate(identity)),
        sa.bindparam("ks_old", type_=ARRAY(sa.LargeBinary)),
        sa.bindparam("ks_new", type_=ARRAY(sa.LargeBinary)),
        sa.bindparam("ks_version", type_=ARRAY(sa.Integer)),
    ]
    names = [*(f"id_{i}" for i in range(len(identity))), "old", "new", "version"]
    given = sa.func.unnest(*arrays).table_valued(*names).render_derived(name="ks_given")
    stmt = (
        kind.table.update()
        .where(
            sa.and_(
                *(c == given.c[f"id_{i}"] for i, c in enumerate(identity)),
                kind.column(kind.blob) == given.c.old,
            )
        )
        .values({kind.blob: given.c.new, kind.key_version: given.c.version})
        .returning(identity[0])
    )
    params: dict[str, object] = {
        **{
            f"ks_id_{i}": [item.row.identity[i] for item in replacements]
            for i in range(len(identity))
        },
        "ks_old": [item.row.blob for item in replacements],
        "ks_new": [item.blob for item in replacements],
        "ks_version": [item.key_version for item in replacements],
    }
    return len((await c.execute(stmt, params)).all())


def _legacy(kind: SealedKind) -> sa.ColumnElement[bool]:
    return kind.present() & kind.column(kind.key_version).is_(None)


__all__ = ["SealedQueries"]
