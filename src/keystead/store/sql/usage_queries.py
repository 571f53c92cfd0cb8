"""Usage records and rollups: raw rows appended, rollup deltas merged, in one
transaction per flush.

Its methods restate ``store.usage.UsageStore``: the protocol other backends implement too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.core.usage import (
    LATENCY_BUCKETS,
    Rollup,
    RollupKey,
    Tile,
    UsageRecord,
    hll_count,
    hll_decode,
    hll_encode,
)
from keystead.store.sql.base import SqlBase
from keystead.store.sql.inserts import insert_to_lock
from keystead.store.sql.rows import aware
from keystead.store.sql.tables import SERIES_FIGURES, usage, usage_rollups, workspaces

_CHUNK = 200  # rollup rows per statement (4 bound values each in the IN list)
_PK = sa.tuple_(
    usage_rollups.c.workspace_id,
    usage_rollups.c.scope,
    usage_rollups.c.scope_id,
    usage_rollups.c.granularity,
    usage_rollups.c.bucket,
)
_UPDATE = (
    usage_rollups.update()
    .where(usage_rollups.c.workspace_id == sa.bindparam("b_workspace_id"))
    .where(usage_rollups.c.scope == sa.bindparam("b_scope"))
    .where(usage_rollups.c.scope_id == sa.bindparam("b_scope_id"))
    .where(usage_rollups.c.granularity == sa.bindparam("b_granularity"))
    .where(usage_rollups.c.bucket == sa.bindparam("b_bucket"))
    .values(
        count=sa.bindparam("b_count"),
        codes=sa.bindparam("b_codes"),
        statuses=sa.bindparam("b_statuses"),
        latency=sa.bindparam("b_latency"),
        bytes_in=sa.bindparam("b_bytes_in"),
        bytes_out=sa.bindparam("b_bytes_out"),
        ips=sa.bindparam("b_ips"),
        user_agents=sa.bindparam("b_user_agents"),
        distinct_ips=sa.bindparam("b_distinct_ips"),
        distinct_user_agents=sa.bindparam("b_distinct_user_agents"),
    )
)


class UsageQueries(SqlBase):
    async def write_usage(
        self, records: Sequence[UsageRecord], rollups: Mapping[RollupKey, Rollup]
    ) -> None:
        if not records and not rollups:
            return
        postgres = self.dialect == "postgresql"
        raw = [_raw_row(r, postgres) for r in records]
        # a fixed order keeps nodes that merge the same rollup rows from deadlocking
        ordered = sorted(rollups)
        async with self._tx() as c:
            if raw and postgres:
                await _copy(c, raw)
            elif raw:
                # straight to the driver: binding 16 values per row through the
                # SQL layer cost more than the rest of a flush
                # MariaDB: the same text rows (its DATETIME takes SQLite's text form)
                await c.exec_driver_sql(
                    _MYSQL_INSERT if self.dialect == "mysql" else _SQLITE_INSERT, raw
                )
            for start in range(0, len(ordered), _CHUNK):
                await self._merge(c, ordered[start : start + _CHUNK], rollups)

    async def _merge(
        self,
        c: AsyncConnection,
        chunk: Sequence[RollupKey],
        deltas: Mapping[RollupKey, Rollup],
    ) -> None:
        empty = [
            {
                **k._asdict(),
                "count": 0,
                "codes": {},
                "statuses": {},
                "latency": {},
                "bytes_in": 0,
                "bytes_out": 0,
                "ips": b"",
                "user_agents": b"",
                "distinct_ips": 0,
                "distinct_user_agents": 0,
            }
            for k in chunk
        ]
        await c.execute(insert_to_lock(usage_rollups, self.dialect), empty)
        select = sa.select(usage_rollups).where(_PK.in_([tuple(k) for k in chunk]))
        if self.dialect != "sqlite":
            select = select.order_by(*_PK.clauses).with_for_update()
        updates = []
        for row in (await c.execute(select)).all():
            key = RollupKey(row.workspace_id, row.scope, row.scope_id, row.granularity, row.bucket)
            merged = _rollup(row)
            merged.merge(deltas[key])
            updates.append(
                {
                    "b_workspace_id": key.workspace_id,
                    "b_scope": key.scope,
                    "b_scope_id": key.scope_id,
                    "b_granularity": key.granularity,
                    "b_bucket": key.bucket,
                    "b_count": merged.count,
                    "b_codes": merged.codes,
                    "b_statuses": merged.statuses,
                    "b_latency": {str(i): n for i, n in merged.latency.items()},
                    "b_bytes_in": merged.bytes_in,
                    "b_bytes_out": merged.bytes_out,
                    "b_ips": hll_encode(merged.ips),
                    "b_user_agents": hll_encode(merged.user_agents),
                    "b_distinct_ips": hll_count(merged.ips),
                    "b_distinct_user_agents": hll_count(merged.user_agents),
                }
            )
        if updates:
            await c.execute(_UPDATE, updates)

    async def list_usage(
        self, workspace_id: str, *, key_id: str | None = None, limit: int = 100
    ) -> list[UsageRecord]:
        stmt = sa.select(usage).where(usage.c.workspace_id == workspace_id)
        if key_id is not None:
            stmt = stmt.where(usage.c.key_id == key_id)
        found = await self._all(stmt.order_by(usage.c.id.desc()).limit(limit))
        return [_record(r) for r in found]

    async def get_rollups(
        self,
        workspace_id: str,
        scope: str,
        scope_id: str,
        granularity: str,
        *,
        since: int | None = None,
        until: int | None = None,
        sketches: bool = True,
    ) -> list[tuple[RollupKey, Rollup]]:
        t = usage_rollups
        columns = t.c if sketches else [*_PK.clauses, *(t.c[name] for name in SERIES_FIGURES)]
        stmt = sa.select(*columns).where(
            (t.c.workspace_id == workspace_id)
            & (t.c.scope == scope)
            & (t.c.scope_id == scope_id)
            & (t.c.granularity == granularity)
        )
        if since is not None:
            stmt = stmt.where(t.c.bucket >= since)
        if until is not None:
            stmt = stmt.where(t.c.bucket < until)
        found = await self._all(stmt.order_by(t.c.bucket))
        return [
            (
                RollupKey(r.workspace_id, r.scope, r.scope_id, r.granularity, r.bucket),
                _rollup(r, sketches=sketches),
            )
            for r in found
        ]

    async def rollups_in(
        self, workspace_id: str, scope: str, scope_id: str, tiles: Sequence[Tile]
    ) -> list[Rollup]:
        if not tiles:
            return []
        t = usage_rollups
        stmt = sa.select(t).where(
            (t.c.workspace_id == workspace_id)
            & (t.c.scope == scope)
            & (t.c.scope_id == scope_id)
            & sa.or_(
                *(
                    (t.c.granularity == granularity) & (t.c.bucket >= first) & (t.c.bucket < end)
                    for granularity, first, end in tiles
                )
            )
        )
        return [_rollup(r) for r in await self._all(stmt)]

    async def purge_usage(self, raw_before: datetime, rollups_before: int) -> tuple[int, int]:
        """Raw records per workspace (and those without one), each delete
        reading the (workspace_id, at) index."""
        raw_deleted = 0
        async with self._tx() as c:
            ids = (await c.execute(sa.select(workspaces.c.id))).scalars().all()
            for workspace_id in (None, *ids):
                owned = (
                    usage.c.workspace_id.is_(None)
                    if workspace_id is None
                    else usage.c.workspace_id == workspace_id
                )
                raw = await c.execute(usage.delete().where(owned & (usage.c.at < raw_before)))
                raw_deleted += raw.rowcount
            rolled = await c.execute(
                usage_rollups.delete().where(usage_rollups.c.bucket < rollups_before)
            )
        return raw_deleted, rolled.rowcount


_RAW_COLUMNS = [c.name for c in usage.c if c.name != "id"]
_NAMES = ", ".join(_RAW_COLUMNS)  # our own column names: nothing from outside
_SQLITE_INSERT = f"INSERT INTO ks_usage ({_NAMES}) VALUES ({', '.join('?' * len(_RAW_COLUMNS))})"  # noqa: S608
_MYSQL_INSERT = _SQLITE_INSERT.replace("?", "%s")
_PG_COPY = f"COPY ks_usage ({_NAMES}) FROM STDIN"


async def _copy(c: AsyncConnection, raw: Sequence[tuple[Any, ...]]) -> None:
    """Raw rows by COPY, in the connection's transaction: about a third of the
    client's CPU per row of ``executemany`` with an INSERT (4 against 13 us)."""
    connection = (await c.get_raw_connection()).driver_connection
    if connection is None:  # pragma: no cover - a pooled connection always has one
        raise RuntimeError("no driver connection")
    async with connection.cursor() as cursor, cursor.copy(_PG_COPY) as copy:
        write = copy.write_row
        for row in raw:
            await write(row)


def _raw_row(r: UsageRecord, postgres: bool) -> tuple[Any, ...]:
    """A row in ``_RAW_COLUMNS`` order, as the driver takes it (SQLite: the text
    form of SQLAlchemy's DateTime)."""
    return (
        datetime.fromtimestamp(r.at, UTC) if postgres else sqlite_stamp(r.at),
        r.workspace_id,
        r.api_id,
        r.key_id,
        r.owner_id,
        r.code,
        r.ip,
        r.country,
        None if r.user_agent is None else r.user_agent[:512],
        None if r.method is None else r.method[:16],
        None if r.path is None else r.path[:1024],
        r.status,
        r.response_ms,
        r.bytes_in,
        r.bytes_out,
        json.dumps(list(r.tags)) if r.tags else "[]",
    )


_SECONDS: dict[int, str] = {}
"""The text of whole seconds (``YYYY-MM-DD HH:MM:SS``): a batch's records share a few."""


def sqlite_stamp(at: float) -> str:
    """``datetime.fromtimestamp(at, UTC).isoformat(" ", "microseconds")[:26]``, the
    text SQLAlchemy's DateTime stores on SQLite, for about two thirds of its
    cost: the second's text is reused, and the microseconds are rounded as
    ``fromtimestamp`` rounds them (half to even)."""
    if not 0.0 <= at < _LATEST_S:
        return datetime.fromtimestamp(at, UTC).isoformat(" ", "microseconds")[:26]
    fraction, whole = math.modf(at)
    micros = round(fraction * 1e6)
    second = int(whole)
    if micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    text = _SECONDS.get(second)
    if text is None:
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        text = _SECONDS[second] = datetime.fromtimestamp(second, UTC).isoformat(" ")[:19]
    return f"{text}.{micros:06d}"


_LATEST_S = 253_402_300_799.0  # 9999-12-31T23:59:59Z


def _record(row: sa.Row[Any]) -> UsageRecord:
    at = aware(row.at)
    return UsageRecord(
        at=0.0 if at is None else at.timestamp(),
        workspace_id=row.workspace_id,
        api_id=row.api_id,
        key_id=row.key_id,
        owner_id=row.owner_id,
        code=row.code,
        ip=row.ip,
        country=row.country,
        user_agent=row.user_agent,
        method=row.method,
        path=row.path,
        status=row.status,
        response_ms=row.response_ms,
        bytes_in=row.bytes_in,
        bytes_out=row.bytes_out,
        tags=tuple(row.tags or ()),
    )


def _histogram(stored: Mapping[str, int] | None) -> dict[int, int]:
    """Latency counts by bucket index; an index no bucket has is dropped."""
    if not stored:
        return {}
    out = dict(zip(map(int, stored), stored.values(), strict=True))
    if min(out) < 0 or max(out) >= LATENCY_BUCKETS:
        return {i: n for i, n in out.items() if 0 <= i < LATENCY_BUCKETS}
    return out


def _rollup(row: sa.Row[Any], *, sketches: bool = True) -> Rollup:
    """A rollup of a row; one read without its sketches gets their stored counts."""
    rollup = Rollup(
        count=row._mapping["count"],
        codes=row.codes or {},  # each row's own freshly parsed objects: no copies
        statuses=row.statuses or {},
        latency=_histogram(row.latency),
        bytes_in=row.bytes_in,
        bytes_out=row.bytes_out,
    )
    if sketches:
        rollup.ips = hll_decode(row.ips)
        rollup.user_agents = hll_decode(row.user_agents)
    else:
        rollup.counted_ips = row.distinct_ips
        rollup.counted_user_agents = row.distinct_user_agents
    return rollup


__all__ = ["UsageQueries"]
