"""MariaDB/MySQL driver choice: asyncmy against aiomysql through SQLAlchemy's async engine.

    flock /tmp/keystead-bench.lock .venv/bin/python bench/mysql_driver.py [--url URL] [--rounds N]

Needs both drivers (``pip install asyncmy aiomysql``) and the server named by ``--url``
(default ``mysql://root@127.0.0.1:3306/test``). Each driver runs the same loop on a
table of its own: one INSERT of a row (a 32-byte hash, an id, a JSON text) in its own
transaction, then one SELECT of that row by hash, as the store does per key made and per
cache miss. The drivers are measured in interleaved blocks so that machine noise hits
both; the table reports the median wall time and client CPU time (this process: the
driver and SQLAlchemy) per insert+select pair, and their ratios to asyncmy.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time

import sqlalchemy as sa
from _common import fmt_ratio, fmt_us, machine_rows, median, print_table
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DRIVERS = ("asyncmy", "aiomysql")
_META = sa.MetaData()
_T = sa.Table(
    "ks_bench_driver",
    _META,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("key_hash", sa.VARBINARY(32), nullable=False, unique=True),
    sa.Column("meta", sa.Text, nullable=False),
)


async def _block(engine: AsyncEngine, pairs: int) -> tuple[float, float]:
    """Wall time and this process's CPU time per pair (the driver's own cost, which
    the server's commit and the machine's noise do not blur)."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(pairs):
        digest = secrets.token_bytes(32)
        async with engine.begin() as c:
            await c.execute(_T.insert().values(id=secrets.token_hex(8), key_hash=digest, meta="{}"))
        async with engine.connect() as c:
            row = (await c.execute(sa.select(_T.c.id).where(_T.c.key_hash == digest))).first()
        assert row is not None
    return (time.perf_counter() - start) / pairs, (time.process_time() - cpu) / pairs


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="mysql://root@127.0.0.1:3306/test")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=500)
    args = parser.parse_args()
    engines = {
        d: create_async_engine(make_url(args.url).set(drivername=f"mysql+{d}")) for d in DRIVERS
    }
    async with engines[DRIVERS[0]].begin() as c:
        await c.run_sync(_META.drop_all)
        await c.run_sync(_META.create_all)
    times: dict[str, list[float]] = {d: [] for d in DRIVERS}
    cpus: dict[str, list[float]] = {d: [] for d in DRIVERS}
    try:
        for d in DRIVERS:  # warm-up: connections made, statements cached
            await _block(engines[d], 50)
        for _ in range(args.rounds):
            for d in DRIVERS:
                wall, cpu = await _block(engines[d], args.pairs)
                times[d].append(wall)
                cpus[d].append(cpu)
    finally:
        async with engines[DRIVERS[0]].begin() as c:
            await c.run_sync(_META.drop_all)
        for engine in engines.values():
            await engine.dispose()
    base, base_cpu = median(times[DRIVERS[0]]), median(cpus[DRIVERS[0]])
    rows = [("driver", "insert+select", "vs asyncmy", "client CPU", "vs asyncmy")]
    rows += [
        (
            d,
            fmt_us(median(times[d])),
            fmt_ratio(median(times[d]) / base),
            fmt_us(median(cpus[d])),
            fmt_ratio(median(cpus[d]) / base_cpu),
        )
        for d in DRIVERS
    ]
    for name, value in machine_rows():
        print(f"{name:8} {value}")
    print_table(f"MariaDB driver, {args.rounds} x {args.pairs} pairs, median per pair", rows)


if __name__ == "__main__":
    asyncio.run(main())
