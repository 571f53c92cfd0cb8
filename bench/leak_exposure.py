"""What the exposure analysis of one leaked key costs, on SQLite and PostgreSQL.

    .venv/bin/python bench/leak_exposure.py            # the figures in docs/performance.md
    .venv/bin/python bench/leak_exposure.py --quick    # a tenth of the records

A real ``Keystead`` on a SQLite file in a temp dir, then on a fresh PostgreSQL schema
(``KEYSTEAD_BENCH_POSTGRES_URL``, default the local test database; dropped at the end),
with the service clock fixed. 103 keys made through ``ks.keys.create_many``; usage
written through ``store.write_usage`` with the rollup deltas of ``summarise``, a flush
of 5,000 records at a time in time order, as the usage writer does:

* busy: 50,000 records over the 30 days before its leak, 25,000 in the 6 hours after
  (more than ``MAX_RECORDS``: its count from the minute rollups, its values from a
  distinct read), some from networks and a country it had not used before;
* fresh: 200 uses in the 6 hours after its leak and none before;
* never used: no record at all;
* 20,000 records of 100 other keys over the same 30 days and 6 hours.

SQLite gets no ANALYZE (Keystead runs none, and SQLite none by itself); PostgreSQL gets
``ANALYZE`` of the two usage tables, what autovacuum does within a minute or so of a load
this size, so that the timings do not hang on whether it has run yet. Each key's
``analyse_exposure`` (leak 6 hours before the clock, until the clock) runs once to warm
up, then 7 times; the table gives the median, and min and max. The results are checked
(counts, labels) before anything is timed. The process is pinned to core 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from _common import (
    drop_pg_schema,
    fresh_pg_schema,
    machine_rows,
    median,
    pin_to_core,
    print_machine,
    print_table,
)

from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.core.exposure import ABUSED, Exposure
from keystead.core.usage import UsageRecord
from keystead.events.usage._rollup import summarise
from keystead.service import Keystead, leak_exposure

PG_URL = os.environ.get("KEYSTEAD_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
HOUR, DAY = 3600, 86_400
NOW = 1_796_169_600  # 2026-12-02 00:00 UTC: the service clock
LEAK = NOW - 6 * HOUR
FLUSH = 5_000  # records per write_usage call
RUNS = 7
AGENTS = ["billing/2.1", "billing/2.2", "python-httpx/0.27", "curl/8.5"]
COUNTRIES = ["FR", "DE", "NL"]
PATHS = ["/v1/charges", "/v1/customers", "/v1/refunds"]


@dataclass(frozen=True)
class Counts:
    busy_before: int
    busy_after: int
    fresh_after: int
    others: int
    other_keys: int = 100


FULL = Counts(50_000, 25_000, 200, 20_000)
QUICK = Counts(5_000, 2_500, 200, 2_000)


def _record(ws: str, api: str, key: str, at: float, ip: str, country: str, agent: str,
            rng: random.Random) -> UsageRecord:  # fmt: skip
    return UsageRecord(
        at, ws, api, key, None, "VALID", ip, country, agent, "GET", rng.choice(PATHS),
        200, rng.lognormvariate(3.0, 0.6), rng.randrange(80, 400), rng.randrange(200, 8000),
    )  # fmt: skip


def records(ws: str, api: str, keys: list[str], counts: Counts) -> list[UsageRecord]:
    """Every record, oldest first. ``keys``: busy, fresh, never used, then the others."""
    rng = random.Random(16)
    busy, fresh, _never, *others = keys
    usual = [f"203.0.113.{i}" for i in range(1, 41)]
    start, span_before, span_after = LEAK - 30 * DAY, 30 * DAY, 6 * HOUR
    out: list[UsageRecord] = []
    for _ in range(counts.busy_before):
        at = start + rng.random() * span_before
        ip = rng.choice(usual)
        out.append(_record(ws, api, busy, at, ip, rng.choice(COUNTRIES), rng.choice(AGENTS), rng))
    for i in range(counts.busy_after):
        at = LEAK + rng.random() * span_after
        moved = i % 50 == 0  # one use in 50 from networks and a country never seen
        ip = f"198.51.{100 + i % 7}.{i % 250 + 1}" if moved else rng.choice(usual)
        country = "KP" if moved else rng.choice(COUNTRIES)
        out.append(_record(ws, api, busy, at, ip, country, rng.choice(AGENTS), rng))
    for i in range(counts.fresh_after):
        at = LEAK + rng.random() * span_after
        out.append(_record(ws, api, fresh, at, f"192.0.2.{i % 20 + 1}", "BR", "curl/8.5", rng))
    for i in range(counts.others):
        key = others[i % len(others)]
        at = start + rng.random() * (span_before + span_after)
        ip = f"10.{i % len(others)}.{rng.randrange(4)}.{rng.randrange(1, 250)}"
        out.append(_record(ws, api, key, at, ip, rng.choice(COUNTRIES), rng.choice(AGENTS), rng))
    out.sort(key=lambda r: r.at)
    return out


def flushes(rows: list[UsageRecord]) -> Iterator[list[UsageRecord]]:
    for begin in range(0, len(rows), FLUSH):
        yield rows[begin : begin + FLUSH]


def check(name: str, found: Exposure, counts: Counts) -> None:
    """The analysis saw what was written: else the timings would mean nothing."""
    if name == "busy":
        assert found.truncated == (counts.busy_after > leak_exposure.MAX_RECORDS), found
        assert found.requests_after == counts.busy_after, found.requests_after
        assert found.history is not None and found.history.requests == counts.busy_before
        assert found.label == ABUSED and "new_country" in found.reasons, found.reasons
    elif name == "fresh":
        assert found.requests_after == counts.fresh_after, found.requests_after
        assert (found.history, found.reasons) == (None, ("no_history",)), found.reasons
    else:
        assert found.requests_after == 0 and found.history is None, found


async def measure(backend: str, url: str, counts: Counts) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            _env_file=None,
            database_url=url or f"sqlite:///{Path(home) / 'bench.db'}",
            secret_file=Path(home) / "keystead.secret",
            invalidation_url="none",
            scheduler_interval_s=0,
            usage_enabled=False,
        )
        ks = await Keystead.open(settings=settings, clock=ManualClock(float(NOW)))
        try:
            admin = await ks.workspaces.local_operator()
            api = (await ks.apis.create(admin, name="billing")).id
            specs: list[dict[str, Any]] = [{"api_id": api}] * (3 + counts.other_keys)
            keys = [c.key.id for c in await ks.keys.create_many(admin, specs)]
            ws = admin.workspace_id
            rows = records(ws, api, keys, counts)
            started = time.perf_counter()
            for batch in flushes(rows):
                await ks.store.write_usage(batch, summarise(batch))
            load_s = time.perf_counter() - started
            if url:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("ANALYZE ks_usage, ks_usage_rollups")
            print(f"{backend}: {len(rows):,} records written in {load_s:,.1f} s", flush=True)
            leaked, until = datetime.fromtimestamp(LEAK, UTC), datetime.fromtimestamp(NOW, UTC)
            timings: dict[str, list[float]] = {}
            for name, key in zip(("busy", "fresh", "never used"), keys, strict=False):
                found = await ks.exposure.analyse_exposure(ws, key, leaked, until)  # warm-up
                check(name, found, counts)
                samples = []
                for _ in range(RUNS):
                    t0 = time.perf_counter()
                    await ks.exposure.analyse_exposure(ws, key, leaked, until)
                    samples.append(time.perf_counter() - t0)
                timings[name] = samples
                print(f"  {name}: median {median(samples) * 1e3:,.1f} ms", flush=True)
        finally:
            await ks.close()
    return {"records": len(rows), "load_s": load_s, "timings": timings}


def ms(seconds: float) -> str:
    value = seconds * 1e3
    return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the records")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    counts = QUICK if args.quick else FULL
    pinned = pin_to_core(0)
    print_machine()
    results = {"SQLite": asyncio.run(measure("SQLite", "", counts))}
    if not args.no_postgres:
        schema, url = fresh_pg_schema(PG_URL)
        try:
            results["PostgreSQL"] = asyncio.run(measure("PostgreSQL", url, counts))
        finally:
            drop_pg_schema(PG_URL, schema)
    labels = {
        "busy": f"busy ({counts.busy_before:,} before, {counts.busy_after:,} after)",
        "fresh": f"{counts.fresh_after} uses after, none before",
        "never used": "never used",
    }
    header = ("key", *(f"{b} median (min-max)" for b in results))
    table = [header]
    for name, label in labels.items():
        cells = []
        for result in results.values():
            s = result["timings"][name]
            cells.append(f"{ms(median(s))} ({ms(min(s))}-{ms(max(s))})")
        table.append((label, *cells))
    title = f"analyse_exposure, median of {RUNS}, among {counts.others:,} records of "
    title += f"{counts.other_keys} other keys{'' if pinned else ' (not pinned)'}"
    print_table(title, table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"machine": dict(machine_rows()), "pinned": pinned, "counts": vars(counts)}
        payload["results"] = results
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
