"""The store interface of usage analytics: top values over raw usage records.

``AnalyticsStore`` is a protocol apart from the SQL code because it is part of ``Store``,
the one interface the service holds and a second backend implements.
tests/store/test_store_protocol.py holds ``SqlStore`` to it, signature by signature.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

TOP_COLUMNS = ("ip", "country", "user_agent", "path", "key_id", "owner_id")
"""The raw record columns ``top_usage`` can group by (``key_id``/``owner_id``: the
busiest keys or owners of an API, as the dashboard's overview shows them)."""
SCOPE_COLUMNS = {"key": "key_id", "owner": "owner_id", "api": "api_id"}
"""The raw record column of each rollup scope."""


class AnalyticsStore(Protocol):
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
        """The most frequent non-empty values of column ``by`` among the raw
        records of one scope in [start, end): (value, count), most frequent
        first, ties by value."""
        ...


__all__ = ["SCOPE_COLUMNS", "TOP_COLUMNS", "AnalyticsStore"]
