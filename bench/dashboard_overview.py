"""The dashboard's overview at scale: server time of ``GET /ui/`` and of each
``/ui/data/overview/*`` answer over a workspace with 10,000,000 usage records.

    .venv/bin/python bench/dashboard_overview.py            # 10,000,000 records
    .venv/bin/python bench/dashboard_overview.py --quick    # 1,000,000 records

On PostgreSQL (KEYSTEAD_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test, in a fresh schema dropped at the end):
a real ``Keystead``, ``--apis`` APIs, ``--keys`` keys (one owner per 5 keys)
inserted by the store's own ``insert_keys``, then ``--records`` raw records over
the last 30 days, generated server-side (INSERT ... SELECT generate_series; a few
heavy keys, 4% rate-limited, 1% usage-exceeded; the raw table's secondary
indexes dropped for the load and built after it). The rollups are what the usage
writer (``events.usage._rollup.summarise``) makes of those records, per key,
owner and API: hour and day buckets over the 30 days, minute buckets over the
last day, aggregated from the raw rows with GROUP BY (codes, status classes, the
latency histogram, bytes, stored distinct counts; one 60-IP sketch stands in for
every bucket's). Then VACUUM ANALYZE.

Timed, in-process (httpx over ASGI against ``create_app``, signed in with a root
key through the real form): each URL ``--runs`` times after one warm-up call.
The floor from issue 18: p95 under 200 ms each.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import drop_pg_schema, fresh_pg_schema, percentile, print_machine, print_table

from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.core.ids import new_id
from keystead.core.models import Key
from keystead.core.usage import LATENCY_BUCKETS, hll_add, hll_encode, hll_new, hll_point
from keystead.http import create_app
from keystead.service import Keystead

NOW = 1_750_000_000.0
DAY = 86_400
URLS = (
    "/ui/",
    "/ui/data/overview/requests",
    "/ui/data/overview/requests?granularity=day",
    "/ui/data/overview/requests?granularity=minute",
    "/ui/data/overview/success-rate",
    "/ui/data/overview/refusals",
)


async def populate_keys(ks: Keystead, n_apis: int, n_keys: int) -> list[Key]:
    admin = await ks.workspaces.local_operator()
    apis = [(await ks.apis.create(admin, name=f"api-{i}")).id for i in range(n_apis)]
    template = (await ks.keys.create(admin, api_id=apis[0], name="template")).key
    made = [template]
    batch: list[tuple[Key, bytes]] = []
    for i in range(1, n_keys):
        key = dataclasses.replace(
            template,
            id=new_id("key", NOW - n_keys + i),
            api_id=apis[i % n_apis],
            name=f"key {i}",
            owner_id=f"owner-{i // 5:05d}",
            start=f"{template.prefix}_{secrets.token_hex(4)}",
        )
        made.append(key)
        batch.append((key, secrets.token_bytes(32)))
        if len(batch) == 5000:
            await ks.store.insert_keys(batch)
            batch = []
    if batch:
        await ks.store.insert_keys(batch)
    return made


_LAT = (
    f"CASE WHEN response_ms < 0.1 THEN 0 ELSE LEAST({LATENCY_BUCKETS - 1}, "
    "1 + floor(log(response_ms / 0.1) * 10))::int END"
)

_RAW = """
INSERT INTO ks_usage (at, workspace_id, api_id, key_id, owner_id, code, ip, country,
                      user_agent, method, path, status, response_ms, bytes_in, bytes_out, tags)
SELECT to_timestamp(%(t0)s + g::float8 * %(span)s / %(n)s), %(ws)s, k.api_id, k.id, k.owner_id,
       CASE WHEN r < 0.95 THEN 'VALID' WHEN r < 0.99 THEN 'RATE_LIMITED'
            ELSE 'USAGE_EXCEEDED' END,
       '10.0.' || (k.i %% 200) || '.' || (g %% 50), 'DE', 'client/1.' || (g %% 4), 'GET',
       '/v1/items', CASE WHEN r < 0.95 THEN 200 ELSE 429 END,
       2 + (k.i %% 40) * 1.5, 200, 1500, '[]'::jsonb
FROM (SELECT g, floor(%(keys)s * power(random(), 3))::int AS pick, random() AS r
      FROM generate_series(0, %(n)s - 1) AS g) AS s
JOIN bench_keys AS k ON k.i = s.pick
"""

# What the writer's rollups hold, grouped once per (key, hour, code, class, latency)
_HOURLY = f"""
CREATE TEMP TABLE bench_hourly AS
SELECT key_id, owner_id, api_id, (floor(extract(epoch FROM at) / 3600) * 3600)::bigint AS b,
       code, (status / 100) || 'xx' AS cls, {_LAT} AS lat,
       count(*) AS n, sum(bytes_in) AS bi, sum(bytes_out) AS bo
FROM ks_usage GROUP BY 1, 2, 3, 4, 5, 6, 7
"""
_MINUTELY = f"""
CREATE TEMP TABLE bench_minutely AS
SELECT key_id, owner_id, api_id, (floor(extract(epoch FROM at) / 60) * 60)::bigint AS b,
       code, (status / 100) || 'xx' AS cls, {_LAT} AS lat,
       count(*) AS n, sum(bytes_in) AS bi, sum(bytes_out) AS bo
FROM ks_usage WHERE at >= to_timestamp(%(since)s) GROUP BY 1, 2, 3, 4, 5, 6, 7
"""
_ROLLUP = """
WITH base AS (
    SELECT {column} AS sid, (b / {size}) * {size} AS bucket, lat,
           sum(n) FILTER (WHERE code = 'VALID') AS v,
           sum(n) FILTER (WHERE code = 'RATE_LIMITED') AS rl,
           sum(n) FILTER (WHERE code = 'USAGE_EXCEEDED') AS ue,
           sum(n) AS n, sum(bi) AS bi, sum(bo) AS bo
    FROM {source} WHERE {column} IS NOT NULL GROUP BY 1, 2, 3)
INSERT INTO ks_usage_rollups (workspace_id, scope, scope_id, granularity, bucket, count, codes,
                              statuses, latency, bytes_in, bytes_out, ips, user_agents,
                              distinct_ips, distinct_user_agents)
SELECT %(ws)s, '{scope}', sid, '{granularity}', bucket, sum(n),
       jsonb_strip_nulls(jsonb_build_object('VALID', sum(v), 'RATE_LIMITED', sum(rl),
                                            'USAGE_EXCEEDED', sum(ue))),
       jsonb_strip_nulls(jsonb_build_object(
           '2xx', sum(v), '4xx', nullif(sum(coalesce(rl, 0) + coalesce(ue, 0)), 0))),
       jsonb_object_agg(lat::text, n), sum(bi), sum(bo), %(sketch)s, %(agents)s, 60, 4
FROM base GROUP BY sid, bucket
"""


def load_usage(url: str, ws: str, keys: list[Key], n: int) -> dict[str, float]:
    import psycopg

    ips, agents = hll_new(), hll_new()
    hll_add(ips, [hll_point(f"10.0.0.{i}") for i in range(60)])
    hll_add(agents, [hll_point(f"client/1.{i}") for i in range(4)])
    times: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE bench_keys (i int, id text, api_id text, owner_id text)")
        with conn.cursor().copy("COPY bench_keys FROM STDIN") as copy:
            for i, k in enumerate(keys):
                copy.write_row((i, k.id, k.api_id, k.owner_id))
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SET work_mem = '128MB'")
        t0 = time.perf_counter()
        # the raw table's secondary indexes are built once the rows are in, as a
        # bulk load would: maintained row by row they dominate the load
        found = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ks_usage'"
            " AND schemaname = current_schema() AND indexname <> 'ks_usage_pkey'"
        ).fetchall()
        for name, _ in found:
            conn.execute(f'DROP INDEX "{name}"')
        args = {"t0": NOW - 30 * DAY, "span": 30 * DAY, "n": n, "ws": ws, "keys": len(keys)}
        conn.execute(_RAW, args)
        for _, definition in found:
            conn.execute(definition)
        times["raw records"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        conn.execute(_HOURLY)
        conn.execute(_MINUTELY, {"since": NOW - DAY})
        conn.execute("ANALYZE bench_hourly")
        conn.execute("ANALYZE bench_minutely")
        given = {"ws": ws, "sketch": hll_encode(ips), "agents": hll_encode(agents)}
        for scope in ("key", "owner", "api"):
            for granularity, size, source in (
                ("hour", 3600, "bench_hourly"),
                ("day", DAY, "bench_hourly"),
                ("minute", 60, "bench_minutely"),
            ):
                sql = _ROLLUP.format(
                    column=f"{scope}_id", size=size, source=source,
                    scope=scope, granularity=granularity,
                )  # fmt: skip
                conn.execute(sql, given)
        times["rollups"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        times["vacuum analyze"] = time.perf_counter() - t0
        count = conn.execute("SELECT count(*) FROM ks_usage_rollups").fetchone()
        times["rollup rows"] = float(count[0] if count else 0)
    return times


async def measure(client: httpx.AsyncClient, runs: int) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for url in URLS:
        first = await client.get(url)
        assert first.status_code == 200, (url, first.status_code, first.text[:300])
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            answer = await client.get(url)
            samples.append(time.perf_counter() - t0)
            assert answer.status_code == 200
        samples.sort()
        p50, p95 = percentile(samples, 0.5) * 1000, percentile(samples, 0.95) * 1000
        rows.append((url, f"{len(first.content):,}", f"{p50:.1f}", f"{p95:.1f}"))
    return rows


async def run(url: str, opts: argparse.Namespace) -> None:
    settings = Settings(_env_file=None, database_url=url, secret=secrets.token_hex(32))
    ks = await Keystead.open(settings=settings, clock=ManualClock(NOW))
    try:
        operator = await ks.workspaces.local_operator()
        t0 = time.perf_counter()
        keys = await populate_keys(ks, opts.apis, opts.keys)
        loaded = {"keys": time.perf_counter() - t0}
        loaded |= load_usage(url, operator.workspace_id, keys, opts.records)
        print_table(
            f"load: {opts.records:,} records, {opts.keys:,} keys, {opts.apis} APIs",
            [("step", "seconds"), *((k, f"{v:,.0f}") for k, v in loaded.items())],
        )
        apis = [k.api_id for k in keys[: opts.apis]]
        readers = {
            "an unnarrowed root key": await ks.root_keys.create(operator, name="bench"),
            # every API named: the page adds up one call per API, as before the
            # workspace-wide top
            f"a root key narrowed to all {opts.apis} APIs": await ks.root_keys.create(
                operator, name="bench, per API", api_ids=apis
            ),
        }
        for who, root in readers.items():
            transport = httpx.ASGITransport(app=create_app(ks), client=("10.9.9.9", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://b.test") as client:
                form = await client.get("/ui/sign-in")
                token = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
                signed = await client.post(
                    "/ui/sign-in", data={"csrf": token, "root_key": root.plaintext}
                )
                assert signed.status_code in (302, 303), signed.text[:300]
                rows = await measure(client, opts.runs)
            print_table(
                f"postgresql, {who}: overview server time, {opts.records:,} records, "
                f"{opts.runs} runs",
                [("GET", "bytes", "p50 ms", "p95 ms"), *rows],
            )
    finally:
        await ks.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--keys", type=int, default=2_000)
    parser.add_argument("--apis", type=int, default=8)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="1,000,000 records")
    parser.add_argument("--keep", action="store_true", help="keep the schema (to EXPLAIN)")
    opts = parser.parse_args()
    if opts.quick:
        opts.records = 1_000_000
    print_machine()
    base = os.environ.get("KEYSTEAD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    schema, url = fresh_pg_schema(base)
    try:
        await run(url, opts)
    finally:
        if opts.keep:
            print(f"kept schema {schema}")
        else:
            drop_pg_schema(base, schema)
    print(f"finished: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    asyncio.run(main())
