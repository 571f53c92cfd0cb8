"""Per-key usage series from the rollups on PostgreSQL, against scanning the raw records.

    .venv/bin/python bench/analytics_series.py           # 10,000,000 records, 35 days
    .venv/bin/python bench/analytics_series.py --quick   # 1,000,000 records

A fresh PostgreSQL schema, a real ``Keystead`` on it, 3 APIs, 1,000 keys, 200 owners,
Zipf-like traffic (s = 1: the hottest key sends 1/7.5 of everything) over the 35 days
before the service clock's "now", one hour at a time: raw rows by COPY in the layout
``write_usage`` uses; rollups from the product's ``summarise`` of each hour, written by
COPY, day rollups merged across the day's hours with ``Rollup.merge`` as flushes would.

Loading and the measured query path run the product's own code (``summarise``,
``Rollup.merge``, sketches stored with ``hll_encode``).

Then VACUUM ANALYZE, and timings of ``ks.analytics.series`` (what
``GET /v1/analytics/usage?key_id=...`` calls) over the 10 hottest keys and 10 others,
each after one warm-up pass; in the same run, the same daily question asked of the raw
records with plain SQL on a bare psycopg connection (no service, no Python summary).

Server: KEYSTEAD_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import math
import multiprocessing
import os
import random
import secrets
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from _common import (
    drop_pg_schema,
    fmt_ratio,
    fresh_pg_schema,
    percentile,
    print_machine,
    print_table,
)

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.usage import Rollup, RollupKey, UsageRecord, hll_count, hll_encode
from keystead.events.usage._rollup import summarise
from keystead.service import Keystead
from keystead.service.heap import freeze_startup_heap
from keystead.store.sql.usage_queries import _RAW_COLUMNS, _raw_row

PG_URL = os.environ.get("KEYSTEAD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
HOUR, DAY = 3600, 86_400
NOW = 1_793_491_200  # 2026-11-01 00:00 UTC: the service clock; records end here
CODES = {"VALID": 955, "RATE_LIMITED": 20, "INSUFFICIENT_PERMISSIONS": 8, "USAGE_EXCEEDED": 5,
         "FORBIDDEN": 5, "EXPIRED": 3, "DISABLED": 2, "REVOKED": 2}  # fmt: skip
FAILED_STATUS = {"RATE_LIMITED": 429, "USAGE_EXCEEDED": 429, "FORBIDDEN": 403,
                 "INSUFFICIENT_PERMISSIONS": 403}  # fmt: skip
OK_STATUS = {200: 880, 201: 50, 204: 20, 404: 30, 400: 10, 500: 8, 503: 2}
AGENTS = [f"{n}/{v}" for n in ("python-httpx", "curl", "okhttp", "Go-http-client") for v in "123"]
PATHS = ["/v1/search", "/v1/items", "/v1/items/{id}", "/v1/orders", "/v1/geo", "/v1/me"]
COUNTRIES = ["US", "DE", "FR", "GB", "IN", "BR", "JP", "CA", "NL", "SG", "AU", "ES"]
ROLLUP_COLUMNS = "workspace_id, scope, scope_id, granularity, bucket, count, codes, statuses,"
ROLLUP_COLUMNS += (
    " latency, bytes_in, bytes_out, ips, user_agents, distinct_ips, distinct_user_agents"
)
ROLLUP_TYPES = ["text"] * 4 + ["int8"] * 2 + ["jsonb"] * 3 + ["int8"] * 2 + ["bytea"] * 2
ROLLUP_TYPES += ["int8"] * 2


@dataclass
class Population:
    """Who sends the traffic: keys by rank (hottest first) and what they look like."""

    workspace_id: str
    key_ids: list[str]
    api_ids: list[str]
    owners: list[str | None]
    cum_weights: list[float]
    ips: list[list[str]]
    agents: list[list[str]]
    countries: dict[str, str]


async def create_population(ks: Keystead, admin: Principal, n_keys: int) -> Population:
    rng = random.Random(7)
    apis = [(await ks.apis.create(admin, name=name)).id for name in ("search", "orders", "geo")]
    owners = [None if rank % 10 == 9 else f"owner-{rank % 200:03d}" for rank in range(n_keys)]
    specs = [{"api_id": apis[rank % 3], "owner_id": owners[rank]} for rank in range(n_keys)]
    key_ids: list[str] = []
    for start in range(0, n_keys, 500):
        created = await ks.keys.create_many(admin, specs[start : start + 500])
        key_ids.extend(c.key.id for c in created)
    weights = [1 / (rank + 1) for rank in range(n_keys)]
    pool = [f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{i % 250 + 1}"
            for i in range(5000)]  # fmt: skip
    ips, agents = [], []
    for rank in range(n_keys):
        size = max(1, round(3000 * weights[rank]))
        offset = rng.randrange(len(pool))
        ips.append([pool[(offset + j) % len(pool)] for j in range(size)])
        agents.append(rng.sample(AGENTS, min(len(AGENTS), 1 + size // 100)))
    cum, total = [], 0.0
    for w in weights:
        total += w
        cum.append(total)
    countries = {ip: COUNTRIES[i % len(COUNTRIES)] for i, ip in enumerate(pool)}
    return Population(admin.workspace_id, key_ids, apis, owners, cum, ips, agents, countries)


def hourly_counts(total: int, days: int) -> list[int]:
    """Records per hour over ``days`` days, with a day/night swing, summing to ``total``."""
    shape = [1 + 0.6 * math.sin(2 * math.pi * (h % 24 - 9) / 24) for h in range(days * 24)]
    scale = total / sum(shape)
    counts = [int(s * scale) for s in shape]
    for h in range(total - sum(counts)):
        counts[h] += 1
    return counts


def hour_records(pop: Population, start: int, n: int, seed: int) -> list[UsageRecord]:
    rng = random.Random(seed)
    ranks = rng.choices(range(len(pop.key_ids)), cum_weights=pop.cum_weights, k=n)
    codes = rng.choices(list(CODES), weights=list(CODES.values()), k=n)
    statuses = rng.choices(list(OK_STATUS), weights=list(OK_STATUS.values()), k=n)
    times = sorted(start + HOUR * rng.random() for _ in range(n))
    out = []
    for at, rank, code, ok_status in zip(times, ranks, codes, statuses, strict=True):
        ip = rng.choice(pop.ips[rank])
        valid = code == "VALID"
        post = rng.random() < 0.2
        record = UsageRecord(
            at, pop.workspace_id, pop.api_ids[rank % 3], pop.key_ids[rank], pop.owners[rank],
            code, ip, pop.countries[ip], rng.choice(pop.agents[rank]), "POST" if post else "GET",
            PATHS[rank % 3 * 2 + post], ok_status if valid else FAILED_STATUS.get(code, 401),
            rng.lognormvariate(3.2, 0.8) if valid else rng.uniform(0.3, 2.0),
            rng.randrange(300, 4000) if post else rng.randrange(80, 400),
            int(rng.lognormvariate(8, 1.2)) if valid else 120,
        )  # fmt: skip
        out.append(record)
    return out


def rollup_row(key: RollupKey, r: Rollup) -> tuple[Any, ...]:
    """A rollup row as ``write_usage`` stores it (latency keys as text)."""
    latency = {str(i): n for i, n in r.latency.items()}
    return (*key, r.count, r.codes, r.statuses, latency, r.bytes_in, r.bytes_out,
            hll_encode(r.ips), hll_encode(r.user_agents),
            hll_count(r.ips), hll_count(r.user_agents))  # fmt: skip


def copy_rollups(conn: psycopg.Connection[Any], rollups: dict[RollupKey, Rollup]) -> None:
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY ks_usage_rollups ({ROLLUP_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(ROLLUP_TYPES)
        for key, rollup in rollups.items():
            copy.write_row(rollup_row(key, rollup))


@dataclass
class LoadPlan:
    url: str
    pop: Population
    counts: list[int]  # records per hour, from the first hour on
    first: int
    window_start: int


_plan: LoadPlan | None = None
_conn: psycopg.Connection[Any] | None = None


def _start_worker(plan: LoadPlan) -> None:
    global _plan, _conn
    _plan, _conn = plan, psycopg.connect(plan.url, autocommit=True)


def load_hour(hour: int) -> tuple[int, dict[RollupKey, Rollup], Counter[str]]:
    """One hour of records: raw rows and minute and hour rollups written, the day
    rollups handed back to be merged with the other hours of that day."""
    assert _plan is not None and _conn is not None
    start = _plan.first + hour * HOUR
    records = hour_records(_plan.pop, start, _plan.counts[hour], seed=hour)
    with (
        _conn.cursor() as cur,
        cur.copy(f"COPY ks_usage ({', '.join(_RAW_COLUMNS)}) FROM STDIN") as copy,
    ):
        for record in records:
            copy.write_row(_raw_row(record, True))
    rollups = summarise(records)
    copy_rollups(_conn, {k: r for k, r in rollups.items() if k.granularity != "day"})
    days = {k: r for k, r in rollups.items() if k.granularity == "day"}
    in_window = Counter(r.key_id for r in records if start >= _plan.window_start and r.key_id)
    return hour // 24, days, in_window


def load(plan: LoadPlan, workers: int) -> Counter[str]:
    """All hours, ``workers`` at a time; the records per key in the window."""
    in_window: Counter[str] = Counter()
    pending: dict[int, dict[RollupKey, Rollup]] = defaultdict(dict)
    hours_done: Counter[int] = Counter()
    started, loaded = time.perf_counter(), 0
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, _start_worker, (plan,)) as pool, psycopg.connect(plan.url) as conn:
        for day, rollups, seen in pool.imap_unordered(load_hour, range(len(plan.counts))):
            in_window.update(seen)
            into = pending[day]
            for key, rollup in rollups.items():
                if key in into:
                    into[key].merge(rollup)  # as a later flush merges into the stored row
                else:
                    into[key] = rollup
            hours_done[day] += 1
            if hours_done[day] == 24:
                copy_rollups(conn, pending.pop(day))
                conn.commit()
                loaded += sum(plan.counts[day * 24 : day * 24 + 24])
                elapsed = time.perf_counter() - started
                print(f"  day {day + 1}: {loaded:,} records in {elapsed:,.0f} s", flush=True)
    return in_window


RAW_COUNT = """SELECT date_trunc('day', at, 'UTC') AS day, count(*) FROM ks_usage
WHERE key_id = %s AND at >= %s AND at < %s GROUP BY 1 ORDER BY 1"""
RAW_FULL = """SELECT date_trunc('day', at, 'UTC') AS day, count(*),
  count(*) FILTER (WHERE code = 'VALID'), count(*) FILTER (WHERE status BETWEEN 400 AND 499),
  count(*) FILTER (WHERE status >= 500), avg(response_ms),
  percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY response_ms),
  sum(bytes_in), sum(bytes_out), count(DISTINCT ip), count(DISTINCT user_agent)
FROM ks_usage WHERE workspace_id = %s AND key_id = %s AND at >= %s AND at < %s
GROUP BY 1 ORDER BY 1"""
ROLLUP_SQL = """SELECT workspace_id, scope, scope_id, granularity, bucket, count, codes,
statuses, latency, bytes_in, bytes_out, distinct_ips, distinct_user_agents
FROM ks_usage_rollups WHERE workspace_id = %s AND scope = 'key'
AND scope_id = %s AND granularity = %s AND bucket >= %s ORDER BY bucket"""
Call = Callable[[str], Awaitable[object] | object]  # one query for one key id


@dataclass
class Options:
    total: int
    iterations: int
    raw_iterations: int
    workers: int


async def timed(call: Call, keys: list[str], runs: int) -> list[float]:
    """Seconds per call, cycling through ``keys``, after one warm-up pass."""
    out = []
    for i in range(len(keys) + runs):
        started = time.perf_counter()
        result = call(keys[i % len(keys)])
        if inspect.isawaitable(result):
            await result
        if i >= len(keys):
            out.append(time.perf_counter() - started)
    return out


def stats_row(name: str, samples: list[float]) -> tuple[str, ...]:
    s = sorted(samples)
    cells = [percentile(s, q) for q in (0.5, 0.9, 0.99, 1.0)] + [sum(s) / len(s)]
    return (name, f"{len(s):,}", *(f"{v * 1e3:,.1f} ms" for v in cells))


async def time_queries(
    ks: Keystead, admin: Principal, url: str, sample: list[str], opts: Options
) -> dict[str, list[float]]:
    t1 = datetime.fromtimestamp(NOW, UTC)
    t0 = datetime.fromtimestamp(NOW - 30 * DAY, UTC)
    day_ago, week_ago = t1 - timedelta(days=1), t1 - timedelta(days=7)

    def series(granularity: str, start: datetime, end: datetime = t1) -> Call:
        return lambda key: ks.analytics.series(
            admin, key_id=key, start=start, end=end, granularity=granularity
        )

    ws = admin.workspace_id
    hour_since = int(t0.timestamp())

    def fetch_only(key: str) -> Awaitable[object]:
        return ks.store.get_rollups(ws, "key", key, "hour", since=hour_since, sketches=False)

    results: dict[str, list[float]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        variants: list[tuple[str, Call, int]] = [
            ("rollups: day, 30 days", series("day", t0), opts.iterations),
            ("rollups: hour, 30 days", series("hour", t0), opts.iterations),
            ("  of which store.get_rollups", fetch_only, opts.iterations),
            ("rollups: minute, last day", series("minute", day_ago), opts.iterations),
            ("rollups: minute, a day a week back",
             series("minute", week_ago - timedelta(days=1), week_ago), opts.raw_iterations),
            ("raw SQL: count per day, 30 days",
             lambda key: conn.execute(RAW_COUNT, (key, t0, t1)).fetchall(), opts.raw_iterations),
            ("raw SQL: same figures per day, 30 days",
             lambda key: conn.execute(RAW_FULL, (ws, key, t0, t1)).fetchall(),
             opts.raw_iterations),
        ]  # fmt: skip
        for name, call, runs in variants:
            results[name] = await timed(call, sample, runs)
            print("  " + "  ".join(stats_row(name, results[name])), flush=True)
        plan = conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS) " + ROLLUP_SQL, (ws, sample[0], "hour", hour_since)
        ).fetchall()
        print("\nEXPLAIN ANALYZE, hottest key, hour rollups:")
        print("\n".join("  " + line for (line,) in plan))
    return results


def data_facts(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE ks_usage")
        conn.execute("VACUUM ANALYZE ks_usage_rollups")
        facts = [("VACUUM ANALYZE", f"{time.perf_counter() - started:,.0f} s")]
        for table in ("ks_usage", "ks_usage_rollups"):
            size, n = conn.execute(
                f"SELECT pg_total_relation_size('{table}'), (SELECT count(*) FROM {table})"
            ).fetchall()[0]
            facts.append((table, f"{n:,} rows, {size / 2**20:,.0f} MiB with indexes"))
        for granularity, n in conn.execute(
            "SELECT granularity, count(*) FROM ks_usage_rollups GROUP BY 1 ORDER BY 1"
        ).fetchall():
            facts.append((f"  {granularity} rollups", f"{n:,} rows"))
    return facts


async def measure(url: str, opts: Options) -> None:
    settings = Settings(
        _env_file=None,
        database_url=url,
        secret=secrets.token_hex(32),
        invalidation_url="none",
        scheduler_interval_s=0,
        usage_enabled=False,
        usage_raw_retention_days=40,
    )
    ks = await Keystead.open(settings=settings, clock=ManualClock(float(NOW)))
    try:
        admin = await ks.workspaces.local_operator()
        pop = await create_population(ks, admin, 1000)
        days = 35
        plan = LoadPlan(url, pop, hourly_counts(opts.total, days), NOW - days * DAY,
                        NOW - 30 * DAY)  # fmt: skip
        print(f"loading {opts.total:,} records over {days} days, {opts.workers} workers")
        started = time.perf_counter()
        in_window = load(plan, opts.workers)
        load_s = time.perf_counter() - started
        facts = [("load", f"{load_s:,.0f} s ({opts.total / load_s:,.0f} records/s)")]
        facts += data_facts(url)
        rng = random.Random(3)
        sample = pop.key_ids[:10] + rng.sample(pop.key_ids[10:], 10)
        t0, t1 = NOW - 30 * DAY, NOW
        for key in sample:
            got = await ks.analytics.series(admin, key_id=key, start=t0, end=t1, granularity="day")
            assert got.totals.total == in_window[key], (key, got.totals.total, in_window[key])
        facts.append(("check", "30-day series totals = records loaded, all 20 keys"))
        freeze_startup_heap()  # what `keystead serve` does once started (service/heap.py)
        print("timing, 20 keys: the 10 hottest and 10 others (runs, p50, p90, p99, max, mean)")
        results = await time_queries(ks, admin, url, sample, opts)
    finally:
        await ks.close()
    print()
    print_machine()
    print_table("data", [("fact", "value"), *facts], right=False)
    header = ("per-key usage series, 20 keys", "runs", "p50", "p90", "p99", "max", "mean")
    print_table("PostgreSQL", [header, *(stats_row(n, r) for n, r in results.items())])
    fast_s = sorted(results["rollups: day, 30 days"])
    for raw in ("raw SQL: count per day, 30 days", "raw SQL: same figures per day, 30 days"):
        slow_s = sorted(results[raw])
        mean = (sum(slow_s) / len(slow_s)) / (sum(fast_s) / len(fast_s))
        p99 = percentile(slow_s, 0.99) / percentile(fast_s, 0.99)
        print(f"{raw} / rollups: day: mean {fmt_ratio(mean)}, p99 {fmt_ratio(p99)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000,000 records")
    parser.add_argument("-n", type=int, default=10_000_000, help="usage records")
    parser.add_argument("-i", type=int, default=600, help="timed runs per rollup series")
    parser.add_argument("-r", type=int, default=60, help="timed runs per raw SQL query")
    parser.add_argument("-w", type=int, default=2, help="loading processes")
    args = parser.parse_args()
    total = 1_000_000 if args.quick else args.n
    opts = Options(total, args.i, args.r, args.w)
    print_machine()
    schema, url = fresh_pg_schema(PG_URL)
    try:
        asyncio.run(measure(url, opts))
    finally:
        drop_pg_schema(PG_URL, schema)


if __name__ == "__main__":
    main()
