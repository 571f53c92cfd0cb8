"""The dashboard's key list and what-if replay at scale, server time per call.

    .venv/bin/python bench/key_list.py                 # 100,000 keys, 1,000,000 uses
    .venv/bin/python bench/key_list.py --keys 20000 --uses 100000 --runs 10   # quick

For each backend (PostgreSQL at KEYSTEAD_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test, in a fresh schema; SQLite in a temporary
file): a real ``Keystead``, 2 APIs, 3 plans and ``--keys`` keys inserted by the
store's own ``insert_keys`` (names, owners, plans and environments spread over
the population), then ANALYZE. Timed: ``ks.keys.list`` as ``GET /v1/keys`` calls
it, one page of 100, for every filter and a search (a common word, a rare name, no
match, an owner prefix, a ``start``), plus the 50th page of a walk; each case after
one warm-up call. Then ``--uses`` recorded uses over the last 7 days (COPY on
PostgreSQL, the store's row layout) on 1,000 keys of the "free" plan, and
``ks.analytics.what_if`` of that plan against 1,000/day.

The floor from issue 18: key list p95 under 200 ms on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import drop_pg_schema, fresh_pg_schema, percentile, print_machine, print_table

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.ids import new_id
from keystead.core.models import Key
from keystead.core.usage import UsageRecord
from keystead.service import Keystead
from keystead.store.sql.usage_queries import _RAW_COLUMNS, _SQLITE_INSERT, _raw_row

NOW = 1_750_000_000.0
WORDS = ("billing", "checkout", "reports", "search", "sync", "mobile", "partner", "ingest")
DAY = 86_400


async def populate(ks: Keystead, admin: Principal, n: int) -> dict[str, Any]:
    apis = [(await ks.apis.create(admin, name=f"api-{i}")).id for i in range(2)]
    plans = {name: (await ks.plans.create(admin, name=name)).id for name in ("free", "pro", "team")}
    template = (await ks.keys.create(admin, api_id=apis[0], name="template")).key
    rng = random.Random(7)
    batch: list[tuple[Key, bytes]] = []
    rare = ""
    picks = [plans["free"]] * 6 + [plans["pro"]] * 3 + [plans["team"], None]
    for i in range(n):
        start = f"{template.prefix}_{secrets.token_hex(4)}"
        key = dataclasses.replace(
            template,
            id=new_id("key", NOW - n + i),
            api_id=apis[i % 2],
            name=f"{rng.choice(WORDS)}-{rng.choice(WORDS)} {i}",
            owner_id=f"owner-{i % 20_000:05d}",
            plan_id=rng.choice(picks),
            environment="test" if i % 20 == 0 else "live",
            start=start,
        )
        batch.append((key, secrets.token_bytes(32)))
        if i == n // 2:
            rare = str(key.name)
        if len(batch) == 5000:
            await ks.store.insert_keys(batch)
            batch = []
    if batch:
        await ks.store.insert_keys(batch)
    return {"apis": apis, "plans": plans, "start": start, "rare": rare}


def analyse(url: str, dialect: str) -> None:
    if dialect == "postgresql":
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    else:
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("ANALYZE")


async def timed(call: Callable[[], Awaitable[object]], runs: int) -> tuple[float, float]:
    await call()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return percentile(samples, 0.5) * 1000, percentile(samples, 0.95) * 1000


async def list_cases(
    ks: Keystead, admin: Principal, pop: dict[str, Any], runs: int
) -> list[tuple[str, ...]]:
    cursor = None
    for _ in range(49):  # the 50th page's cursor
        cursor = (await ks.keys.list(admin, cursor=cursor)).next_cursor
    cases: dict[str, dict[str, Any]] = {
        "first page": {},
        "50th page": {"cursor": cursor},
        "api_id": {"api_id": pop["apis"][1]},
        "owner_id": {"owner_id": "owner-01234"},
        "plan_id (team, 9%)": {"plan_id": pop["plans"]["team"]},
        "environment (test, 5%)": {"environment": "test"},
        "state=active": {"state": "active"},
        "plan + environment": {"plan_id": pop["plans"]["pro"], "environment": "test"},
        "search a word (~23%)": {"search": "CHECKOUT"},
        "search a rare name": {"search": pop["rare"].upper()},
        "search, no match": {"search": "nothing-like-it"},
        "search an owner prefix": {"search": "owner-0123"},
        "search a start": {"search": pop["start"]},
    }
    rows = []
    for name, filters in cases.items():
        page = await ks.keys.list(admin, limit=100, **filters)
        p50, p95 = await timed(lambda f=filters: ks.keys.list(admin, limit=100, **f), runs)
        rows.append((name, str(len(page.items)), f"{p50:.1f}", f"{p95:.1f}"))
    return rows


def load_uses(url: str, dialect: str, workspace: str, api: str, keys: list[Key], n: int) -> None:
    rng = random.Random(11)
    weights = [1.0 / (i + 1) for i in range(len(keys))]  # Zipf-like: a few heavy users
    chosen = rng.choices(keys, weights=weights, k=n)
    times = sorted(NOW - 7 * DAY + rng.random() * 7 * DAY for _ in range(n))
    rows = (
        _raw_row(UsageRecord(t, workspace, api, k.id, k.owner_id, "VALID"), dialect == "postgresql")
        for t, k in zip(times, chosen, strict=True)
    )
    if dialect == "postgresql":
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
            with cur.copy(f"COPY ks_usage ({', '.join(_RAW_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    else:
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.executemany(_SQLITE_INSERT, rows)


async def run_backend(dialect: str, url: str, opts: argparse.Namespace) -> None:
    settings = Settings(_env_file=None, database_url=url, secret=secrets.token_hex(32))
    ks = await Keystead.open(settings=settings, clock=ManualClock(NOW))
    try:
        admin = await ks.workspaces.local_operator()
        t0 = time.perf_counter()
        pop = await populate(ks, admin, opts.keys)
        loaded = time.perf_counter() - t0
        analyse(url, dialect)
        rows = await list_cases(ks, admin, pop, opts.runs)
        print_table(
            f"{dialect}: ks.keys.list, one page of 100, {opts.keys:,} keys "
            f"(loaded in {loaded:.0f} s), {opts.runs} runs",
            [("case", "items", "p50 ms", "p95 ms"), *rows],
        )
        if not opts.uses:
            return
        free = pop["plans"]["free"]
        on_free = (await ks.keys.list(admin, plan_id=free, limit=1000)).items
        t0 = time.perf_counter()
        load_uses(url, dialect, admin.workspace_id, on_free[0].api_id, on_free, opts.uses)
        loaded = time.perf_counter() - t0
        analyse(url, dialect)
        proposal = {"ratelimits": [{"name": "day", "limit": 1000, "duration_s": 86_400}]}
        quota = {"quota": {"limit": 1000, "period": "day"}}
        what_rows = []
        for name, given in (("1000/day rate limit", proposal), ("1000/day quota", quota)):
            got = await ks.analytics.what_if(admin, plan_id=free, proposal=given, days=7)
            p50, p95 = await timed(
                lambda g=given: ks.analytics.what_if(admin, plan_id=free, proposal=g, days=7),
                max(3, opts.runs // 10),
            )
            refused = f"{got.refused:,} ({got.owners_refused} owners)"
            what_rows.append((name, f"{got.requests:,}", refused, f"{p50:.0f}", f"{p95:.0f}"))
        print_table(
            f"{dialect}: ks.analytics.what_if, plan 'free', 7 days, {opts.uses:,} uses on "
            f"{len(on_free)} keys (loaded in {loaded:.0f} s)",
            [("proposal", "replayed", "refused", "p50 ms", "p95 ms"), *what_rows],
        )
    finally:
        await ks.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--uses", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    opts = parser.parse_args()
    print_machine()
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    if opts.backend in ("postgresql", "both"):
        base = os.environ.get(
            "KEYSTEAD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        )
        schema, url = fresh_pg_schema(base)
        try:
            await run_backend("postgresql", url, opts)
        finally:
            drop_pg_schema(base, schema)
    if opts.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            await run_backend("sqlite", f"sqlite:///{tmp}/bench.db", opts)


if __name__ == "__main__":
    asyncio.run(main())
