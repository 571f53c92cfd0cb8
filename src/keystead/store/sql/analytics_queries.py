"""Usage analytics over the raw ``ks_usage`` table: GROUP BY within a time range
(served by the (key_id, at), (owner_id, at) and (api_id, at) indexes).

Its methods restate ``store.analytics.AnalyticsStore``: the protocol other backends implement too.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from keystead.store.analytics import SCOPE_COLUMNS, TOP_COLUMNS
from keystead.store.sql.base import SqlBase
from keystead.store.sql.tables import usage


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


__all__ = ["AnalyticsQueries"]
