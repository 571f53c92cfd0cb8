"""The store interface of usage analytics: top values over raw usage records.

``AnalyticsStore`` is a protocol apart from the SQL code because it is part of ``Store``,
the one interface the service holds and a second backend implements.
tests/store/test_store_protocol.py holds ``SqlStore`` to it, signature by signature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

TOP_COLUMNS = ("ip", "country", "user_agent", "path", "key_id", "owner_id")
"""The raw record columns ``top_usage`` can group by (``key_id``/``owner_id``: the
busiest keys or owners of an API, as the dashboard's overview shows them)."""
SCOPE_COLUMNS = {"key": "key_id", "owner": "owner_id", "api": "api_id"}
"""The raw record column of each rollup scope."""


REPLAY_CODES = ("VALID", "RATE_LIMITED", "USAGE_EXCEEDED")
"""The outcomes of requests that reached the limits: what a what-if replays."""


@dataclass(slots=True, frozen=True)
class ReplayScope:
    """Whose recorded uses a what-if replays: one key, an API's keys, or the
    keys now on a plan; narrowed to some APIs and one owner as the reader is."""

    key_id: str | None = None
    api_id: str | None = None
    plan_id: str | None = None
    api_ids: frozenset[str] | None = None
    owner_id: str | None = None


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
        """The busiest scope ids (``scope`` is "key" or "owner") of a whole
        workspace: their hour rollups starting in [since, until) (epoch seconds)
        added up, (id, count), most first, ties by id. ``api_ids`` or ``owner_id``
        narrow it to the keys of those APIs or that owner, as keys are now: the
        key rollups of the keys that remain, added up by key or by owner."""
        ...

    async def count_usage_to_replay(
        self, workspace_id: str, scope: ReplayScope, *, start: datetime, end: datetime
    ) -> int:
        """How many raw records ``usage_to_replay`` would read."""
        ...

    async def usage_to_replay(
        self, workspace_id: str, scope: ReplayScope, *, start: datetime, end: datetime
    ) -> list[tuple[str, str | None, list[float]]]:
        """Per key of the scope: (key id, owner id as recorded, epoch seconds of its
        raw records in [start, end) whose code is one of ``REPLAY_CODES``, ascending)."""
        ...

    async def key_limit_sets(
        self, workspace_id: str, key_ids: Sequence[str]
    ) -> Mapping[str, tuple[str | None, Mapping[str, Any]]]:
        """Each named key's plan id and own limit set (keys not found are left out)."""
        ...


__all__ = ["REPLAY_CODES", "SCOPE_COLUMNS", "TOP_COLUMNS", "AnalyticsStore", "ReplayScope"]
