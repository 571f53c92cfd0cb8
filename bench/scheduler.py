"""The lifecycle scheduler on PostgreSQL: the cost of a pass, and of rotating by policy.

    .venv/bin/python bench/scheduler.py                 # 20,000 keys, 500 due
    .venv/bin/python bench/scheduler.py -n 5000 -d 200  # quicker

A fresh PostgreSQL schema; a manual clock ages the keys. Two measurements, each
with a baseline taken in the same run:

* a pass with nothing due over N keys under a rotation policy, against reading
  the same N keys page by page through ``keys.list`` (what a pass that scanned
  every key would pay; the scheduler's indexed queries read none of them);
* a pass that rotates D due keys (each successor sealed into a pickup, with its
  ``key.rotated`` event, in one transaction per key), against D rotations by a
  person (``rotation.rotate``, the successor shown instead of sealed).

Server: KEYSTEAD_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import drop_pg_schema, fmt_rate, fresh_pg_schema, median, print_machine, print_table

from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.service import Keystead

PG_URL = os.environ.get("KEYSTEAD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DAY = 86_400
BATCH = 1000


async def _create(ks: Keystead, admin: object, api_id: str, n: int) -> list[str]:
    ids: list[str] = []
    for start in range(0, n, BATCH):
        size = min(BATCH, n - start)
        created = await ks.keys.create_many(admin, [{"api_id": api_id}] * size)  # type: ignore[arg-type]
        ids.extend(c.key.id for c in created)
    return ids


async def measure(url: str, n: int, due: int, repeats: int) -> list[tuple[str, ...]]:
    clock = ManualClock(1_750_000_000.0)
    settings = Settings(
        _env_file=None,
        database_url=url,
        secret=secrets.token_hex(32),
        invalidation_url="none",
        scheduler_interval_s=0,
    )
    ks = await Keystead.open(settings=settings, clock=clock)
    try:
        admin = await ks.workspaces.local_operator()
        aging = await ks.apis.create(
            admin, name="aging", rotation_policy={"max_age_s": 365 * DAY, "grace_period_s": 3600}
        )
        await _create(ks, admin, aging.id, n)
        idle_pass, list_all = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            report = await ks.scheduler.run_once()
            idle_pass.append(time.perf_counter() - started)
            assert report.acted and report.scanned == 0 and not report.rotated
            started = time.perf_counter()
            cursor, seen = None, 0
            while True:
                page = await ks.keys.list(admin, api_id=aging.id, cursor=cursor, limit=1000)
                seen += len(page.items)
                cursor = page.next_cursor
                if cursor is None:
                    break
            list_all.append(time.perf_counter() - started)
            assert seen == n

        soon = await ks.apis.create(
            admin, name="soon", rotation_policy={"max_age_s": DAY, "grace_period_s": 3600}
        )
        await _create(ks, admin, soon.id, due)
        by_hand_api = await ks.apis.create(admin, name="by-hand")
        by_hand = await _create(ks, admin, by_hand_api.id, due)
        clock.advance(DAY + 1)
        started = time.perf_counter()
        report = await ks.scheduler.run_once()
        policy_s = time.perf_counter() - started
        assert len(report.rotated) == due, len(report.rotated)
        started = time.perf_counter()
        for key_id in by_hand:
            await ks.rotation.rotate(admin, key_id, grace_period_s=3600)
        hand_s = time.perf_counter() - started
    finally:
        await ks.close()
    idle, listed = median(idle_pass), median(list_all)
    return [
        ("measure", "scheduler", "baseline", "ratio"),
        (
            f"pass, {n:,} keys, none due",
            f"{idle * 1e3:,.2f} ms",
            f"keys.list all: {listed * 1e3:,.0f} ms",
            f"{listed / idle:,.0f}x faster",
        ),
        (
            f"pass rotating {due:,} due keys",
            f"{policy_s * 1e3:,.0f} ms ({fmt_rate(due / policy_s)} rotations)",
            f"rotate by hand: {hand_s * 1e3:,.0f} ms ({fmt_rate(due / hand_s)})",
            f"{policy_s / hand_s:.2f}x the baseline",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="keys under a policy")
    parser.add_argument("-d", type=int, default=500, help="keys due for rotation")
    parser.add_argument("-r", type=int, default=3, help="repeats of the idle pass")
    args = parser.parse_args()
    print_machine()
    schema, url = fresh_pg_schema(PG_URL)
    try:
        rows = asyncio.run(measure(url, args.n, args.d, args.r))
    finally:
        drop_pg_schema(PG_URL, schema)
    print_table("lifecycle scheduler on PostgreSQL", rows, right=False)


if __name__ == "__main__":
    main()
