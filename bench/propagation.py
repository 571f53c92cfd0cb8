"""Cross-node invalidation latency: revoke on node B, time until node A answers REVOKED.

    .venv/bin/python bench/propagation.py            # N=200 per channel
    .venv/bin/python bench/propagation.py -n 50      # quicker

Two in-process nodes (one event loop) on one fresh PostgreSQL schema, the key
cached on A first; the clock starts when ``b.keys.revoke`` returns and stops when
``a.verify`` (polled in a tight loop, yielding to the loop) answers REVOKED.
Channels: PostgreSQL LISTEN/NOTIFY, Redis pub/sub. Baseline: without a channel a
change reaches the other node only when its cache TTL (60 s) runs out.
Servers: KEYSTEAD_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test)
and KEYSTEAD_TEST_REDIS_URL (default redis://127.0.0.1:6379/0).
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

from _common import drop_pg_schema, fresh_pg_schema, percentile, print_machine, print_table

from keystead.config import Settings
from keystead.core.models import Code
from keystead.service import Keystead

PG_URL = os.environ.get("KEYSTEAD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("KEYSTEAD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TTL_S = 60.0
TIMEOUT_S = 5.0


async def measure(database_url: str, channel: str, n: int) -> list[float]:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        secret=secrets.token_hex(32),
        invalidation_url=channel,
        cache_ttl_s=TTL_S,
    )
    a = await Keystead.open(settings=settings)
    b = await Keystead.open(settings=settings)
    try:
        admin = await b.workspaces.local_operator()
        api = await b.apis.create(admin, name=f"bench-{secrets.token_hex(3)}")
        created = await b.keys.create_many(admin, [{"api_id": api.id}] * n)
        for key in created:
            assert (await a.verify(key.plaintext)).valid
        delays: list[float] = []
        for key in created:
            await b.keys.revoke(admin, key.key.id)
            started = time.perf_counter()
            while (await a.verify(key.plaintext)).code is not Code.REVOKED:
                if time.perf_counter() - started > TIMEOUT_S:
                    raise SystemExit(f"{channel or 'pg'}: not propagated within {TIMEOUT_S} s")
                await asyncio.sleep(0)
            delays.append(time.perf_counter() - started)
        return sorted(delays)
    finally:
        await a.close()
        await b.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="revocations per channel")
    args = parser.parse_args()
    print_machine()
    rows = [("channel", "n", "p50", "p99", "max", "vs TTL 60 s (p99)")]
    for label, channel in (("PostgreSQL NOTIFY", ""), ("Redis pub/sub", REDIS_URL)):
        schema, url = fresh_pg_schema(PG_URL)
        try:
            delays = asyncio.run(measure(url, channel, args.n))
        finally:
            drop_pg_schema(PG_URL, schema)
        p99 = percentile(delays, 0.99)
        rows.append(
            (
                label,
                str(len(delays)),
                f"{percentile(delays, 0.50) * 1e3:.2f} ms",
                f"{p99 * 1e3:.2f} ms",
                f"{delays[-1] * 1e3:.2f} ms",
                f"{TTL_S / p99:,.0f}x sooner",
            )
        )
    print_table("revoke on B returns -> A answers REVOKED", rows)


if __name__ == "__main__":
    main()
