"""Usage analytics over the raw ``ks_usage`` table: GROUP BY within a time range
(served by the (key_id, at), (owner_id, at) and (api_id, at) indexes); a
workspace's busiest keys and owners from the hour rollups.

Its methods restate ``store.analytics.AnalyticsStore``: the protocol other backends implement too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from keystead.store.analytics import REPLAY_CODES, SCOPE_COLUMNS, TOP_COLUMNS, ReplayScope
from keystead.store.sql.base import SqlBase
from keystead.store.sql.tables import keys, usage, usage_rollups

_ID_BATCH = 500


class AnalyticsQueries(SqlBase):
    async def top_usage(
        self,
        workspace_id: str,
        scope: str,
        scope_id: str,
        *,
        start: datetime,
        end: datetime,
        by: str,
        limit: int,
    ) -> list[tuple[str, int]]:
        if by not in TOP_COLUMNS or scope not in SCOPE_COLUMNS:
            raise ValueError(f"cannot group {scope} usage by {by!r}")
        column = usage.c[by]
        n = sa.func.count().label("n")
        stmt = (
            sa.select(column, n)
            .where(usage.c[SCOPE_COLUMNS[scope]] == scope_id)
            .where(usage.c.workspace_id == workspace_id)
            .where(usage.c.at >= start)
            .where(usage.c.at < end)
            .where(column.is_not(None))
            .group_by(column)
            .order_by(n.desc(), column)
            .limit(limit)
        )
        rows = await self._all(stmt)
        return [(str(row._mapping[column]), int(row._mapping[n])) for row in rows]

    async def top_rolled_up(
        self,
        workspace_id: str,
        scope: str,
        *,
        since: int,
        until: int,
        limit: int,
        api_ids: frozenset[str] | None = None,
        owner_id: str | None = None,
    ) -> list[tuple[str, int]]:
        t = usage_rollups
        n = sa.func.sum(t.c["count"]).label("n")
        in_range = (
            (t.c.workspace_id == workspace_id)
            & (t.c.granularity == "hour")
            & (t.c.bucket >= since)
            & (t.c.bucket < until)
        )
        if api_ids is None and owner_id is None:
            group: sa.ColumnElement[Any] = t.c.scope_id
            stmt = sa.select(group, n).where(in_range & (t.c.scope == scope))
        else:  # the key rollups of the visible keys, by key or by the key's owner
            group = keys.c.id if scope == "key" else keys.c.owner_id
            visible = [keys.c.workspace_id == workspace_id]
            if api_ids is not None:
                visible.append(keys.c.api_id.in_(sorted(api_ids)))
            if owner_id is not None:
                visible.append(keys.c.owner_id == owner_id)
            elif scope != "key":
                visible.append(keys.c.owner_id.is_not(None))
            stmt = (
                sa.select(group, n)
                .select_from(t.join(keys, keys.c.id == t.c.scope_id))
                .where(in_range & (t.c.scope == "key"), *visible)
            )
        stmt = stmt.group_by(group).order_by(n.desc(), group).limit(limit)
        return [(str(r[0]), int(r[1])) for r in map(tuple, await self._all(stmt))]

    def _replay_filter(
        self, workspace_id: str, scope: ReplayScope, start: datetime, end: datetime
    ) -> sa.ColumnElement[bool]:
        where = [
            usage.c.workspace_id == workspace_id,
            usage.c.at >= start,
            usage.c.at < end,
            usage.c.code.in_(REPLAY_CODES),
            usage.c.key_id.is_not(None),
        ]
        if scope.key_id is not None:
            where.append(usage.c.key_id == scope.key_id)
        if scope.api_id is not None:
            where.append(usage.c.api_id == scope.api_id)
        if scope.api_ids is not None:
            where.append(usage.c.api_id.in_(sorted(scope.api_ids)))
        if scope.owner_id is not None:
            where.append(usage.c.owner_id == scope.owner_id)
        if scope.plan_id is not None:
            on_plan = sa.select(keys.c.id).where(
                (keys.c.workspace_id == workspace_id) & (keys.c.plan_id == scope.plan_id)
            )
            where.append(usage.c.key_id.in_(on_plan))
        return sa.and_(*where)

    async def count_usage_to_replay(
        self, workspace_id: str, scope: ReplayScope, *, start: datetime, end: datetime
    ) -> int:
        where = self._replay_filter(workspace_id, scope, start, end)
        row = await self._one(sa.select(sa.func.count()).select_from(usage).where(where))
        return 0 if row is None else int(row[0])

    async def usage_to_replay(
        self, workspace_id: str, scope: ReplayScope, *, start: datetime, end: datetime
    ) -> list[tuple[str, str | None, list[float]]]:
        """One row per key, its times as one text of integer microseconds: a
        million records cross the driver as a thousand rows."""
        micros: sa.ColumnElement[Any]
        if self.dialect == "postgresql":  # date_part: a double, cheaper than numeric EXTRACT
            micros = sa.cast(sa.func.date_part("epoch", usage.c.at) * 1_000_000, sa.BigInteger)
            times = sa.func.string_agg(sa.cast(micros, sa.Text), ",")
        elif self.dialect == "mysql":  # DATETIME(6) in UTC; the session's time zone aside
            micros = sa.func.timestampdiff(sa.text("MICROSECOND"), "1970-01-01", usage.c.at)
            times = sa.func.group_concat(micros)  # a long one: group_concat_max_len (engine)
        else:  # stored as UTC text "YYYY-MM-DD HH:MM:SS.ffffff"
            whole = sa.cast(sa.func.strftime("%s", usage.c.at), sa.BigInteger)
            micros = whole * 1_000_000 + sa.cast(sa.func.substr(usage.c.at, 21, 6), sa.BigInteger)
            times = sa.func.group_concat(micros, ",")
        where = self._replay_filter(workspace_id, scope, start, end)
        stmt = (
            sa.select(usage.c.key_id, sa.func.max(usage.c.owner_id), times)
            .where(where)
            .group_by(usage.c.key_id)
        )
        out: list[tuple[str, str | None, list[float]]] = []
        for key_id, owner_id, text in map(tuple, await self._all(stmt)):
            stamps = [int(t) / 1e6 for t in str(text).split(",")]
            stamps.sort()  # aggregated in no particular order
            out.append((str(key_id), owner_id, stamps))
        return out

    async def key_limit_sets(
        self, workspace_id: str, key_ids: Sequence[str]
    ) -> Mapping[str, tuple[str | None, Mapping[str, Any]]]:
        out: dict[str, tuple[str | None, Mapping[str, Any]]] = {}
        wanted = sorted(set(key_ids))
        for i in range(0, len(wanted), _ID_BATCH):
            stmt = sa.select(keys.c.id, keys.c.plan_id, keys.c.limits).where(
                (keys.c.workspace_id == workspace_id) & keys.c.id.in_(wanted[i : i + _ID_BATCH])
            )
            for key_id, plan_id, limits in map(tuple, await self._all(stmt)):
                out[str(key_id)] = (plan_id, limits or {})
        return out


__all__ = ["AnalyticsQueries"]
