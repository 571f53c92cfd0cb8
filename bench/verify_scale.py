"""Verify latency against the number of keys: PostgreSQL with 1k and 1M keys.

    .venv/bin/python bench/verify_scale.py            # 1k vs 1M keys (about 3 min)
    .venv/bin/python bench/verify_scale.py --quick    # 1k vs 100k keys (about 30 s)

Each size gets a fresh schema in the database named by ``--pg-url`` (default
``postgresql://postgres@127.0.0.1:5432/test``), migrated by the service, which
also creates the workspace, the API and one template key (IP restriction +
permissions). The other keys are made with ``keyformat.generate``, hashed with
``KeyHasher(secret).hash`` and bulk-loaded with COPY; the schemas are dropped at
the end. Latency of ``ks.verify`` is measured per call over 2,000 random keys:

- COLD: a Keystead with ``cache_size=0``, so every verify is a PostgreSQL query;
- WARM: a Keystead with the default cache, after one pass has loaded the keys.

The sizes are measured in interleaved blocks so that machine noise hits both.
The ratio (large / 1k) should stay near 1: lookup is one unique-index probe.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import psycopg
from _common import fmt_ratio, machine_rows, percentile, print_table

from keystead.config import Settings
from keystead.core import keyformat
from keystead.core.hashing import KeyHasher
from keystead.core.models import Code, VerifyContext
from keystead.service import Keystead

PREFIX = "bench"
RESTRICTIONS = {"ips": {"allow": ["10.0.0.0/8", "192.168.0.0/16"]}}
PERMISSIONS = ["documents.read", "documents.write"]
CONTEXT = VerifyContext(ip="10.1.2.3", permissions="documents.read AND NOT admin.*")
SCHEMA_PREFIX = "ks_bench_scale_"
FLAT = 1.5  # "does not grow": large/small p50 within this factor
COPY_COLUMNS = (
    "id",
    "workspace_id",
    "api_id",
    "key_hash",
    "prefix",
    "start",
    "name",
    "owner_id",
    "meta",
    "permissions",
    "roles",
    "enabled",
    "environment",
    "not_before",
    "expires_at",
    "restrictions",
    "created_at",
    "updated_at",
    "last_used_at",
    "revoked_at",
    "created_by",
)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RAW_QUERY = "SELECT * FROM ks_keys WHERE key_hash = %s"
Lookup = Callable[[str], Awaitable[object]]


def crockford(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, digit = divmod(value, 32)
        out.append(_CROCKFORD[digit])
    return "".join(reversed(out))


def copy_text(value: str) -> str:
    """Escape one field for COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


@dataclass
class Size:
    n_keys: int
    schema: str
    url: str
    samples: list[str] = field(default_factory=list)
    build_s: float = 0.0
    raw: list[float] = field(default_factory=list)
    store: list[float] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    not_valid: int = 0


def schema_url(base: str, schema: str) -> str:
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options={quote(f'-csearch_path={schema}')}"


async def build(size: Size, secret_hex: str, n_samples: int, rng: random.Random) -> None:
    """Schema, workspace, API and template key through the service; the rest by COPY."""
    started = time.perf_counter()
    settings = Settings(_env_file=None, database_url=size.url, secret=secret_hex)
    async with await Keystead.open(settings=settings) as ks:
        await ks.workspaces.init()
        principal = await ks.workspaces.local_operator()
        api = await ks.apis.create(principal, name="bench", prefix=PREFIX)
        template = await ks.keys.create(
            principal, api_id=api.id, permissions=PERMISSIONS, restrictions=RESTRICTIONS
        )
    hasher = KeyHasher(bytes.fromhex(secret_hex))
    with psycopg.connect(size.url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT workspace_id, api_id, permissions::text, restrictions::text, created_at"
            " FROM ks_keys WHERE id = %s",
            (template.key.id,),
        ).fetchone()
        assert row is not None
        workspace_id, api_id, permissions, restrictions, created_at = row
        fixed_head = "\t".join(copy_text(v) for v in (workspace_id, api_id))
        stamp = created_at.astimezone(UTC).isoformat()
        fixed_tail = "\t".join(
            [
                "\\N",  # name
                "\\N",  # owner_id
                "{}",  # meta
                copy_text(permissions),
                "[]",  # roles
                "t",  # enabled
                "\\N",  # environment
                "\\N",  # not_before
                "\\N",  # expires_at
                copy_text(restrictions),
                stamp,  # created_at
                stamp,  # updated_at
                "\\N",  # last_used_at
                "\\N",  # revoked_at
                "bench",  # created_by
            ]
        )
        to_make = size.n_keys - 1  # the template key is one of them
        wanted: dict[int, list[int]] = {}
        for slot, index in enumerate(rng.choices(range(to_make), k=n_samples)):
            wanted.setdefault(index, []).append(slot)
        samples = [""] * n_samples
        id_head = "key_" + crockford(int(datetime.now(UTC).timestamp() * 1000), 10)
        columns = ", ".join(COPY_COLUMNS)
        with conn.cursor() as cur, cur.copy(f"COPY ks_keys ({columns}) FROM STDIN") as copy:
            chunk: list[str] = []
            for index in range(to_make):
                plaintext = keyformat.generate(PREFIX)
                if index in wanted:
                    for slot in wanted[index]:
                        samples[slot] = plaintext
                key_id = id_head + crockford(index, 16)
                start = plaintext[: len(PREFIX) + 1 + keyformat.START_BODY_CHARS]
                digest = hasher.hash(plaintext).hex()
                chunk.append(
                    f"{key_id}\t{fixed_head}\t\\\\x{digest}\t{PREFIX}\t{start}\t{fixed_tail}\n"
                )
                if len(chunk) >= 10_000:
                    copy.write("".join(chunk))
                    chunk.clear()
            if chunk:
                copy.write("".join(chunk))
        conn.execute("VACUUM ANALYZE ks_keys")
        count = conn.execute("SELECT count(*) FROM ks_keys").fetchone()
        assert count is not None and count[0] == size.n_keys, count
    size.samples = samples
    size.build_s = time.perf_counter() - started


async def timed(ks: Keystead, keys: list[str], into: list[float]) -> int:
    """Append each verify's latency; return how many did not answer VALID."""
    not_valid = 0
    clock = time.perf_counter
    for key in keys:
        t0 = clock()
        verdict = await ks.verify(key, CONTEXT)
        into.append(clock() - t0)
        if verdict.code is not Code.VALID:
            not_valid += 1
    return not_valid


def blocks(items: list[str], n_blocks: int) -> Iterator[list[str]]:
    step = -(-len(items) // n_blocks)
    for start in range(0, len(items), step):
        yield items[start : start + step]


async def raw_lookup(conn: psycopg.AsyncConnection[object], hasher: KeyHasher) -> Lookup:
    """The baseline: the same one-row lookup with the bare async driver (one
    prepared statement, autocommit, no pool, no verification logic)."""

    async def lookup(key: str) -> object:
        cur = await conn.execute(RAW_QUERY, (hasher.hash(key),), prepare=True)
        return await cur.fetchone()

    return lookup


def store_lookup(ks: Keystead, hasher: KeyHasher) -> Lookup:
    """The store layer alone: ``Store.find_key`` (SQLAlchemy Core, pool, transaction)."""

    async def lookup(key: str) -> object:
        return await ks.store.find_key(hasher.hash(key))

    return lookup


async def timed_raw(lookup: Lookup, keys: list[str], into: list[float]) -> int:
    missing = 0
    clock = time.perf_counter
    for key in keys:
        t0 = clock()
        row = await lookup(key)
        into.append(clock() - t0)
        if row is None:
            missing += 1
    return missing


async def measure(sizes: list[Size], secret_hex: str, n_blocks: int) -> None:
    """Mode by mode (so no two instances ever share a schema), sizes interleaved."""
    hasher = KeyHasher(bytes.fromhex(secret_hex))
    chunks = [list(blocks(s.samples, n_blocks)) for s in sizes]
    async with contextlib.AsyncExitStack() as stack:
        lookups = []
        for size in sizes:
            conn = await psycopg.AsyncConnection.connect(size.url, autocommit=True)
            stack.push_async_callback(conn.close)
            lookups.append(await raw_lookup(conn, hasher))
        for size, lookup in zip(sizes, lookups, strict=True):
            await timed_raw(lookup, size.samples[:100], [])
        for block in range(n_blocks):
            for size, lookup, parts in zip(sizes, lookups, chunks, strict=True):
                if block < len(parts):
                    size.not_valid += await timed_raw(lookup, parts[block], size.raw)
    for mode in ("cold", "warm"):
        async with contextlib.AsyncExitStack() as stack:
            instances = []
            for size in sizes:
                settings = Settings(_env_file=None, database_url=size.url, secret=secret_hex)
                if mode == "cold":
                    settings = settings.model_copy(update={"cache_size": 0})
                ks = await stack.enter_async_context(await Keystead.open(settings=settings))
                instances.append(ks)
                # warm the connection pool (and, for WARM, load every sampled key)
                await timed(ks, size.samples[:100] if mode == "cold" else size.samples, [])
            for block in range(n_blocks):
                for size, ks, parts in zip(sizes, instances, chunks, strict=True):
                    if block < len(parts):
                        size.not_valid += await timed(ks, parts[block], getattr(size, mode))
                        if mode == "cold":
                            find = store_lookup(ks, hasher)
                            size.not_valid += await timed_raw(find, parts[block], size.store)


def label_of(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def report(args: argparse.Namespace, sizes: list[Size]) -> dict[str, object]:
    print_table(
        "verify_scale: ks.verify latency vs number of keys, PostgreSQL",
        [
            ("run", ""),
            *machine_rows(),
            ("database", args.pg_url + " (a fresh schema per size, dropped after)"),
            ("samples", f"{args.samples:,} random keys per size, per mode, interleaved"),
            ("mode", "quick" if args.quick else "full"),
        ],
        right=False,
    )
    rows: list[tuple[str, ...]] = [
        (
            "keys",
            "build",
            "driver p50",
            "driver p99",
            "COLD p50",
            "COLD p99",
            "WARM p50",
            "WARM p99",
            "failed",
        )
    ]
    figures: dict[str, object] = {}
    for size in sizes:
        raw, cold, warm = sorted(size.raw), sorted(size.cold), sorted(size.warm)
        stats = {
            "driver_p50_ms": percentile(raw, 0.50) * 1e3,
            "driver_p99_ms": percentile(raw, 0.99) * 1e3,
            "cold_p50_ms": percentile(cold, 0.50) * 1e3,
            "cold_p99_ms": percentile(cold, 0.99) * 1e3,
            "warm_p50_us": percentile(warm, 0.50) * 1e6,
            "warm_p99_us": percentile(warm, 0.99) * 1e6,
            "build_s": size.build_s,
            "not_valid": size.not_valid,
        }
        figures[label_of(size.n_keys)] = stats
        rows.append(
            (
                f"{size.n_keys:,}",
                f"{size.build_s:.0f} s",
                f"{stats['driver_p50_ms']:.3f} ms",
                f"{stats['driver_p99_ms']:.3f} ms",
                f"{stats['cold_p50_ms']:.3f} ms",
                f"{stats['cold_p99_ms']:.3f} ms",
                f"{stats['warm_p50_us']:.1f} us",
                f"{stats['warm_p99_us']:.1f} us",
                str(size.not_valid),
            )
        )
    small, large = (figures[label_of(s.n_keys)] for s in (sizes[0], sizes[-1]))
    assert isinstance(small, dict) and isinstance(large, dict)
    names = ("driver_p50_ms", "driver_p99_ms", "cold_p50_ms", "cold_p99_ms")
    ratios = {k: large[k] / small[k] for k in (*names, "warm_p50_us", "warm_p99_us")}
    rows.append(
        (
            f"ratio {label_of(sizes[-1].n_keys)}/{label_of(sizes[0].n_keys)}",
            "",
            fmt_ratio(ratios["driver_p50_ms"]),
            fmt_ratio(ratios["driver_p99_ms"]),
            fmt_ratio(ratios["cold_p50_ms"]),
            fmt_ratio(ratios["cold_p99_ms"]),
            fmt_ratio(ratios["warm_p50_us"]),
            fmt_ratio(ratios["warm_p99_us"]),
            "",
        )
    )
    print_table("latency per verify (one coroutine, sequential calls)", rows)
    print(
        "driver = bare psycopg AsyncConnection, prepared SELECT by key_hash, autocommit;\n"
        "failed = lookups or verifies that did not find a VALID key (should be 0)"
    )
    split: list[tuple[str, ...]] = [("cache-miss path, p50", *(label_of(s.n_keys) for s in sizes))]
    for name, attr in (
        ("bare driver lookup", "raw"),
        ("Store.find_key (SQLAlchemy, pool, tx)", "store"),
        ("ks.verify, COLD", "cold"),
    ):
        split.append(
            (name, *(f"{percentile(sorted(getattr(s, attr)), 0.5) * 1e3:.3f} ms" for s in sizes))
        )
    split.append(
        (
            "COLD verify / bare driver",
            *(
                fmt_ratio(percentile(sorted(s.cold), 0.5) / percentile(sorted(s.raw), 0.5))
                for s in sizes
            ),
        )
    )
    print_table("where a cache miss spends its time", split)
    for size in sizes:
        figures[label_of(size.n_keys)]["store_p50_ms"] = (  # type: ignore[index]
            percentile(sorted(size.store), 0.5) * 1e3
        )
    flat = ratios["cold_p50_ms"] <= FLAT and ratios["warm_p50_us"] <= FLAT
    print(
        f"\np50 grows by at most {FLAT}x from {label_of(sizes[0].n_keys)} to "
        f"{label_of(sizes[-1].n_keys)} keys: {'yes' if flat else 'NO'}"
    )
    figures["ratios"] = ratios
    return figures


def drop_schemas(pg_url: str, names: list[str]) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


async def main_async(args: argparse.Namespace, counts: list[int]) -> list[Size]:
    secret_hex = secrets.token_hex(32)
    rng = random.Random(11)
    tag = f"{os.getpid()}_{secrets.token_hex(3)}"
    schemas = [f"{SCHEMA_PREFIX}{label_of(n).lower()}_{tag}" for n in counts]
    sizes = [
        Size(n, schema, schema_url(args.pg_url, schema))
        for n, schema in zip(counts, schemas, strict=True)
    ]
    with psycopg.connect(args.pg_url, autocommit=True) as conn:
        for size in sizes:
            conn.execute(f'CREATE SCHEMA "{size.schema}"')
    try:
        for size in sizes:
            print(f"building {size.n_keys:,} keys in schema {size.schema} ...", flush=True)
            await build(size, secret_hex, args.samples, rng)
        await measure(sizes, secret_hex, n_blocks=8)
    finally:
        drop_schemas(args.pg_url, [s.schema for s in sizes])
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k vs 100k keys")
    parser.add_argument("--large", type=int, default=1_000_000, help="keys in the large store")
    parser.add_argument("--small", type=int, default=1_000, help="keys in the small store")
    parser.add_argument("--samples", type=int, default=2_000, help="timed verifies per mode")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "KEYSTEAD_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    large = 100_000 if args.quick else args.large
    sizes = asyncio.run(main_async(args, [args.small, large]))
    figures = report(args, sizes)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"machine": dict(machine_rows()), "figures": figures}
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
