"""Reading a leaked key's usage for the exposure analysis
(``keystead.core.exposure``): what it did between its leak and its revocation,
against what it did before.

The window is read as raw records of the one key (the ``key_id, at`` index),
at most ``MAX_RECORDS``; past that its count comes from the minute rollups and
the first-seen values from the records read. The history is read as alert
baselines are (``service/alert_evaluation.py``): the key's hour rollups over
``BASELINE_DAYS`` before the leak's hour, plus the minute rollups of that hour
up to the leak, and the distinct networks, countries and user agents of its
raw records over the same days (raw records are kept 30 days by default).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from keystead.core.detectors import ip_range
from keystead.core.exposure import Exposure, History, assess
from keystead.core.usage import bucket_start
from keystead.store.base import Store

BASELINE_DAYS = 30
MAX_RECORDS = 20_000
"""Raw records of the window read at most: a bound on memory and time."""


class LeakExposure:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def analyse_exposure(
        self, workspace_id: str, key_id: str, leaked_at: datetime, until: datetime
    ) -> Exposure:
        """The key's exposure from ``leaked_at`` to ``until`` (its revocation,
        or now for a key still live); an ``until`` before the leak is an empty
        window."""
        t0 = leaked_at.timestamp()
        t1 = max(t0, until.timestamp())
        end = datetime.fromtimestamp(t1, UTC)
        records = await self._store.usage_between(
            workspace_id, leaked_at, end, limit=MAX_RECORDS + 1, key_id=key_id
        )
        requests_after = None
        if len(records) > MAX_RECORDS:
            records = records[:MAX_RECORDS]
            requests_after = await self._count(workspace_id, key_id, t0, t1)
        history = await self._history(workspace_id, key_id, leaked_at)
        return assess(history, records, t0, t1, requests_after=requests_after)

    async def _count(self, workspace_id: str, key_id: str, t0: float, t1: float) -> int:
        rows = await self._store.get_rollups(
            workspace_id,
            "key",
            key_id,
            "minute",
            since=bucket_start(t0, "minute"),
            until=math.ceil(t1),
            sketches=False,
        )
        return sum(r.count for _, r in rows)

    async def _history(self, workspace_id: str, key_id: str, leaked_at: datetime) -> History | None:
        t0 = leaked_at.timestamp()
        since = leaked_at - timedelta(days=BASELINE_DAYS)
        hour = bucket_start(t0, "hour")
        store = self._store
        hours = await store.baseline_rollups(
            workspace_id, [key_id], bucket_start(since.timestamp(), "hour"), hour
        )
        first: int | None = None
        requests = 0
        if key_id in hours:
            first, rollup = hours[key_id]
            requests = rollup.count
        minutes = await store.get_rollups(
            workspace_id,
            "key",
            key_id,
            "minute",
            since=hour,
            until=bucket_start(t0, "minute"),
            sketches=False,
        )
        if minutes:
            requests += sum(r.count for _, r in minutes)
            first = hour if first is None else first
        seen: dict[str, set[str]] = {}
        for column in ("ip", "country", "user_agent"):
            found = await store.usage_seen(workspace_id, [key_id], column, since, leaked_at)
            seen[column] = found.get(key_id, set())
        if first is None and not any(seen.values()):
            return None
        return History(
            requests=requests,
            seconds=t0 - (hour if first is None else first),
            ip_ranges=frozenset(ip_range(ip) for ip in seen["ip"]),
            countries=frozenset(seen["country"]),
            user_agents=frozenset(seen["user_agent"]),
        )


__all__ = ["BASELINE_DAYS", "MAX_RECORDS", "LeakExposure"]
