"""Usage analytics figures derived from rollups. Pure: no I/O, no clock.

A ``Summary`` is what one bucket (or a whole range) of rollups says: totals,
outcomes, status classes, latency read from the histogram (geometric bucket
middles: within about 12%) and HyperLogLog distinct counts (about 3.3%).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from keystead.core.usage import BUCKET_MIDDLES, Rollup, hll_union

MAX_BUCKETS = 2000
"""The most buckets one series may hold."""
SUCCESS_CODE = "VALID"


@dataclass(slots=True, frozen=True)
class Summary:
    """The figures of one bucket (``start``: epoch seconds) or of a whole range."""

    start: int | None
    total: int
    codes: dict[str, int]
    success: int
    failure: int
    status_4xx: int
    status_5xx: int
    with_status: int
    error_rate: float | None
    """(4xx + 5xx) / records carrying a status; None when none did."""
    latency_avg_ms: float | None
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    bytes_in: int
    bytes_out: int
    distinct_ips: int
    distinct_user_agents: int


def merged(rollups: Iterable[Rollup]) -> Rollup:
    """One rollup adding up several (HyperLogLog sketches merge exactly)."""
    parts = list(rollups)
    total = Rollup()
    for rollup in parts:
        total.add_counts(rollup)
    total.ips = hll_union(r.ips for r in parts)
    total.user_agents = hll_union(r.user_agents for r in parts)
    return total


def latency_mean(histogram: dict[int, int]) -> float | None:
    """The mean latency in ms, each bucket counted at its middle (indexes are
    those of ``latency_bucket``: stores drop any other on read)."""
    n = sum(histogram.values())
    if n == 0:
        return None
    middles = BUCKET_MIDDLES
    return sum(middles[i] * count for i, count in histogram.items()) / n


def latency_figures(histogram: dict[int, int]) -> tuple[float | None, ...]:
    """(mean, p50, p99) in ms in one pass over the sorted buckets; each as
    ``latency_mean`` and ``percentile`` give them."""
    total = sum(histogram.values())
    if total == 0:
        return None, None, None
    middles = BUCKET_MIDDLES
    rank50, rank99 = max(1, math.ceil(0.5 * total)), max(1, math.ceil(0.99 * total))
    p50 = p99 = None
    seen, weighted = 0, 0.0
    for index in sorted(histogram):
        n = histogram[index]
        seen += n
        weighted += middles[index] * n
        if p50 is None and seen >= rank50:
            p50 = middles[index]
        if p99 is None and seen >= rank99:
            p99 = middles[index]
    return weighted / total, p50, p99


def summarise(rollup: Rollup, start: int | None = None) -> Summary:
    success = rollup.codes.get(SUCCESS_CODE, 0)
    mean, p50, p99 = latency_figures(rollup.latency)
    s4 = rollup.statuses.get("4xx", 0)
    s5 = rollup.statuses.get("5xx", 0)
    with_status = sum(rollup.statuses.values())
    return Summary(
        start=start,
        total=rollup.count,
        codes=dict(sorted(rollup.codes.items())),
        success=success,
        failure=rollup.count - success,
        status_4xx=s4,
        status_5xx=s5,
        with_status=with_status,
        error_rate=(s4 + s5) / with_status if with_status else None,
        latency_avg_ms=mean,
        latency_p50_ms=p50,
        latency_p99_ms=p99,
        bytes_in=rollup.bytes_in,
        bytes_out=rollup.bytes_out,
        distinct_ips=rollup.distinct_ips,
        distinct_user_agents=rollup.distinct_user_agents,
    )


@dataclass(slots=True, frozen=True)
class UsageSeries:
    """Buckets of one scope in [start, end), oldest first, none missing."""

    scope: str
    scope_id: str
    granularity: str
    start: datetime
    end: datetime
    buckets: list[Summary]
    totals: Summary
    last_used_at: datetime | None = None
    """For a key scope: when the key was last verified (from the key record)."""
    leaked_at: datetime | None = None
    """For a key scope: when the key leaked (docs/scanning.md), if it did."""


@dataclass(slots=True, frozen=True)
class TopValues:
    scope: str
    scope_id: str
    by: str
    start: datetime
    end: datetime
    items: list[tuple[str, int]]


def _iso(at: datetime | int | None) -> str | None:
    if at is None:
        return None
    if isinstance(at, int):
        at = datetime.fromtimestamp(at, UTC)
    return at.isoformat().replace("+00:00", "Z")


def summary_json(s: Summary) -> dict[str, Any]:
    body: dict[str, Any] = {} if s.start is None else {"start": _iso(s.start)}
    body.update(
        total=s.total,
        codes=s.codes,
        success=s.success,
        failure=s.failure,
        status_4xx=s.status_4xx,
        status_5xx=s.status_5xx,
        with_status=s.with_status,
        error_rate=s.error_rate,
        latency_ms={"avg": s.latency_avg_ms, "p50": s.latency_p50_ms, "p99": s.latency_p99_ms},
        bytes_in=s.bytes_in,
        bytes_out=s.bytes_out,
        distinct_ips=s.distinct_ips,
        distinct_user_agents=s.distinct_user_agents,
    )
    return body


def series_json(series: UsageSeries) -> dict[str, Any]:
    return {
        "scope": series.scope,
        "scope_id": series.scope_id,
        "granularity": series.granularity,
        "from": _iso(series.start),
        "to": _iso(series.end),
        "last_used_at": _iso(series.last_used_at),
        "leaked_at": _iso(series.leaked_at),
        "totals": summary_json(series.totals),
        "buckets": [summary_json(b) for b in series.buckets],
    }


def top_json(top: TopValues) -> dict[str, Any]:
    return {
        "scope": top.scope,
        "scope_id": top.scope_id,
        "by": top.by,
        "from": _iso(top.start),
        "to": _iso(top.end),
        "items": [{"value": value, "count": count} for value, count in top.items],
    }


__all__ = [
    "MAX_BUCKETS",
    "Summary",
    "TopValues",
    "UsageSeries",
    "latency_figures",
    "latency_mean",
    "merged",
    "series_json",
    "summarise",
    "summary_json",
    "top_json",
]
