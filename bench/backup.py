"""Backup and restore: rows per second, file size, on SQLite and PostgreSQL.

    flock /tmp/keystead-bench.lock .venv/bin/python bench/backup.py            # 200,000 usage rows
    flock /tmp/keystead-bench.lock .venv/bin/python bench/backup.py --quick    # 20,000, a smoke run
    KEYSTEAD_BENCH_POSTGRES_URL=postgresql://... .venv/bin/python bench/backup.py

A SQLite store (a master key in a temporary directory) gets a few keys through
the service, then ``--rows`` raw usage records inserted with plain SQL (what a
busy store is mostly made of). Then, each timed (wall and this process's CPU):

- the baseline: every row of every table read in one transaction, with nothing
  done with it (what any backup must at least do);
- ``keystead backup --with-usage`` (the service call the CLI makes): the same
  read, encoded, compressed, encrypted and written;
- ``keystead restore`` into a new SQLite file, and into a fresh PostgreSQL schema
  (dropped at the end) on the same machine (loopback).

The ratio is the backup's time over the baseline's, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import sqlalchemy as sa
from _common import fmt_rate, fmt_ratio, print_machine, print_table

from keystead.config import Settings
from keystead.service import Keystead
from keystead.service.backup import backup, restore
from keystead.store.sql.engine import create_engine
from keystead.store.sql.tables import metadata, usage

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


async def fill(settings: Settings, rows: int) -> None:
    async with await Keystead.open(settings=settings, create_master_key=True) as ks:
        root = await ks.workspaces.local_operator()
        api = await ks.apis.create(root, name="bench", prefix="bench")
        keys = [(await ks.keys.create(root, api_id=api.id)).key.id for _ in range(20)]
    engine = create_engine(settings.database_url)
    base = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    try:
        async with engine.begin() as connection:
            for start in range(0, rows, 10_000):
                batch = [
                    {
                        "at": datetime.fromtimestamp(base + n, UTC),
                        "workspace_id": root.workspace_id,
                        "api_id": api.id,
                        "key_id": keys[n % len(keys)],
                        "owner_id": f"owner_{n % 97}",
                        "code": "VALID",
                        "ip": f"203.0.113.{n % 250}",
                        "user_agent": f"client/{n % 13}.0",
                        "method": "GET",
                        "path": f"/v1/items/{n % 1000}",
                        "status": 200,
                        "response_ms": 3.5 + n % 40,
                        "bytes_in": 120,
                        "bytes_out": 2048 + n % 512,
                        "tags": {"region": "eu"},
                    }
                    for n in range(start, min(rows, start + 10_000))
                ]
                await connection.execute(usage.insert(), batch)
    finally:
        await engine.dispose()


async def read_everything(url: str) -> int:
    """The baseline: every row of every table, in one transaction, thrown away."""
    engine = create_engine(url)
    count = 0
    try:
        async with engine.begin() as connection:
            for table in metadata.sorted_tables:
                result = await connection.stream(sa.select(table))
                async for batch in result.partitions(1000):
                    count += len(batch)
    finally:
        await engine.dispose()
    return count


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    found = await call()
    return found, time.perf_counter() - wall, time.process_time() - cpu


def fresh_schema(url: str) -> tuple[str, str]:
    schema = f"ks_bench_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema, f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--postgres", default=os.environ.get("KEYSTEAD_BENCH_POSTGRES_URL", DEFAULT_URL)
    )
    args = parser.parse_args()
    rows = 20_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)

        def settings(url: str) -> Settings:
            return Settings(
                _env_file=None, database_url=url, secret="ab" * 32, secret_file=home / "s"
            )

        source = settings(f"sqlite:///{home / 'source.db'}")
        await fill(source, rows)
        file = home / "store.ksbk"
        total, base_s, base_cpu = await timed(lambda: read_everything(source.database_url))
        taken, backup_s, backup_cpu = await timed(lambda: backup(source, file, with_usage=True))
        assert taken.rows == total, (taken.rows, total)
        target = settings(f"sqlite:///{home / 'target.db'}")
        _, sqlite_s, sqlite_cpu = await timed(lambda: restore(target, file))
        schema, pg_url = fresh_schema(args.postgres)
        try:
            _, pg_s, pg_cpu = await timed(lambda: restore(settings(pg_url), file))
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        db_size = (home / "source.db").stat().st_size
    print_machine()
    print(f"store    SQLite, {total:,} rows ({rows:,} raw usage), {db_size / 1e6:.1f} MB file")
    print(f"backup   {taken.bytes / 1e6:.1f} MB ({taken.bytes / db_size:.0%} of the database file)")
    runs = [
        ("baseline: read every row", base_s, base_cpu),
        ("backup --with-usage", backup_s, backup_cpu),
        ("restore into SQLite", sqlite_s, sqlite_cpu),
        ("restore into PostgreSQL", pg_s, pg_cpu),
    ]
    print_table(
        "rows per second (wall), CPU seconds of this process",
        [
            ("run", "rows/s", "wall s", "CPU s", "vs baseline"),
            *(
                (name, fmt_rate(total / s), f"{s:.2f}", f"{cpu:.2f}", fmt_ratio(s / base_s))
                for name, s, cpu in runs
            ),
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
