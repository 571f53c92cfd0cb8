"""A series' totals: distinct IPs and user agents united from the fewest rollups
covering the range (whole days, then hours), exactly as from every bucket; and
rows from before stored distinct counts (NULL) still read right."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from keystead.core.analytics import merged
from keystead.core.authz import Principal
from keystead.core.usage import (
    UsageRecord,
    hll_add,
    hll_count,
    hll_new,
    hll_point,
    hll_union,
)
from keystead.service import Keystead
from keystead.store.sql import SqlStore

DAY, HOUR = 86_400, 3_600
D0 = 1_749_945_600  # a day start (2025-06-15 00:00 UTC)
START, END = D0 + 20 * HOUR, D0 + 2 * DAY + 5 * HOUR  # 20:00 on day 0 to 05:00 on day 2


async def _spread_traffic(ks: Keystead, admin: Principal) -> str:
    """One record per hour over three days, a new IP and (every 5 h) a new user
    agent each hour, so every hour's sketches differ."""
    api = await ks.apis.create(admin, name="totals")
    created = await ks.keys.create(admin, api_id=api.id, owner_id="alice")
    for hour in range(3 * 24):
        await ks.usage.recorder.add(
            UsageRecord(at=D0 + hour * HOUR + 30, workspace_id=admin.workspace_id,
                        api_id=api.id, key_id=created.key.id, owner_id="alice", code="VALID",
                        ip=f"10.0.{hour}.1", user_agent=f"agent/{hour // 5}")
        )  # fmt: skip
    await ks.flush()
    return created.key.id


def _estimate(values: Iterable[str]) -> int:
    """What a sketch of exactly these values counts (HyperLogLog, not exact)."""
    sketch = hll_new()
    hll_add(sketch, [hll_point(v) for v in values])
    return hll_count(sketch)


async def _every_bucket_united(ks: Keystead, admin: Principal, key_id: str) -> tuple[int, int]:
    rows = await ks.store.get_rollups(
        admin.workspace_id, "key", key_id, "hour", since=START, until=END
    )
    return (
        hll_count(hll_union(r.ips for _, r in rows)),
        hll_count(hll_union(r.user_agents for _, r in rows)),
    )


async def test_totals_from_days_and_edge_hours_equal_every_bucket_united(
    keystead: Keystead, admin: Principal
) -> None:
    key_id = await _spread_traffic(keystead, admin)
    series = await keystead.analytics.series(
        admin, key_id=key_id, start=START, end=END, granularity="hour"
    )
    hours = (END - START) // HOUR  # 33: 4 on day 0, all 24 of day 1, 5 on day 2
    assert [b.total for b in series.buckets] == [1] * hours
    assert [b.distinct_ips for b in series.buckets] == [1] * hours
    totals = series.totals
    assert totals.total == hours
    # hours 20..52 saw IPs 20..52 and user agents 4..10: not the hours outside
    in_range = range(20, 20 + hours)
    assert (totals.distinct_ips, totals.distinct_user_agents) == (
        _estimate(f"10.0.{h}.1" for h in in_range),
        _estimate(f"agent/{h // 5}" for h in in_range),
    )
    assert (totals.distinct_ips, totals.distinct_user_agents) == await _every_bucket_united(
        keystead, admin, key_id
    )
    days = await keystead.analytics.series(
        admin, key_id=key_id, start=D0, end=D0 + 3 * DAY, granularity="day"
    )
    assert (days.totals.distinct_ips, days.totals.distinct_user_agents) == (
        _estimate(f"10.0.{h}.1" for h in range(72)),
        _estimate(f"agent/{h // 5}" for h in range(72)),
    )


async def test_rows_without_stored_counts_are_counted_from_their_sketches(
    keystead: Keystead, admin: Principal
) -> None:
    key_id = await _spread_traffic(keystead, admin)
    before = await keystead.analytics.series(
        admin, key_id=key_id, start=START, end=END, granularity="hour"
    )
    store = keystead.store
    assert isinstance(store, SqlStore)
    async with store._engine.begin() as connection:
        await connection.execute(
            sa.text("UPDATE ks_usage_rollups SET distinct_ips = NULL, distinct_user_agents = NULL")
        )
    bare = await store.get_rollups(
        admin.workspace_id, "key", key_id, "hour", since=START, until=END, sketches=False
    )
    assert bare and all(r.counted_ips is None for _, r in bare)
    after = await keystead.analytics.series(
        admin, key_id=key_id, start=START, end=END, granularity="hour"
    )
    assert after == before
    assert merged(r for _, r in bare).count == len(bare)
