"""In-process verification throughput of a cached key, on one core.

    .venv/bin/python bench/verify_inprocess.py            # full run (about 1.5 min)
    .venv/bin/python bench/verify_inprocess.py --quick    # smoke run (about 30 s)

Keystead side: SQLite with 10k keys, each with an IP restriction and
permissions; ``await ks.verify(key, VerifyContext(ip=..., permissions=...))``
of one (cached) key in a tight ``for`` loop inside one coroutine.
Peer: djangorestframework-api-key ``APIKey.objects.is_valid(key)`` on SQLite
with 10k keys, in its own virtualenv (bench/.peers/drf), pinned to the same
core, run right after in the same invocation. Also: where the time goes
(timeit of each step of the hot path) and the rejection rate of garbage keys.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import random
import secrets
import string
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    fmt_rate,
    fmt_ratio,
    fmt_us,
    machine_rows,
    median,
    peer_python,
    pin_to_core,
    print_table,
)

from keystead.config import Settings
from keystead.core import keyformat
from keystead.core.models import Code, VerifyContext
from keystead.core.permissions import parse_query_cached
from keystead.core.verify import decide
from keystead.service import Keystead
from keystead.service.context import CachedKey

TARGET_PER_S = 200_000
TARGET_RATIO = 50.0
RESTRICTIONS = {"ips": {"allow": ["10.0.0.0/8", "192.168.0.0/16"]}}
PERMISSIONS = ["documents.read", "documents.write", "billing.read"]
CONTEXT = VerifyContext(ip="10.1.2.3", permissions="documents.read AND NOT admin.*")
PEER_REQUIREMENTS = ["djangorestframework-api-key>=3,<4", "django", "djangorestframework"]
PREFIX = "bench"


async def build(tmp: Path, n_keys: int, secret: bytes) -> tuple[Keystead, str]:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp / 'bench.db'}",
        secret=secret.hex(),
        secret_file=tmp / "bench.secret",
        # the NOT_FOUND rows send thousands of unknown keys from one IP: measure
        # the negative cache, not the brute-force guard that would block them
        failed_attempts_limit=0,
    )
    ks = await Keystead.open(settings=settings)
    await ks.workspaces.init()
    principal = await ks.workspaces.local_operator()
    api = await ks.apis.create(principal, name="bench", prefix=PREFIX)
    plaintexts: list[str] = []
    spec = {"api_id": api.id, "permissions": PERMISSIONS, "restrictions": RESTRICTIONS}
    for start in range(0, n_keys, 1000):
        count = min(1000, n_keys - start)
        created = await ks.keys.create_many(principal, [spec] * count)
        plaintexts.extend(c.plaintext for c in created)
    return ks, plaintexts[len(plaintexts) // 2]


async def loop_rate(
    call: Callable[[str, VerifyContext], Coroutine[Any, Any, object]],
    keys: list[str],
    context: VerifyContext,
    n: int,
) -> float:
    """Calls per second of ``await call(k, context)`` over ``n`` calls cycling ``keys``."""
    reps, rest = divmod(n, len(keys))
    work = keys * reps + keys[:rest]
    t0 = time.perf_counter()
    for key in work:
        await call(key, context)
    return len(work) / (time.perf_counter() - t0)


async def calibrate(
    call: Callable[[str, VerifyContext], Coroutine[Any, Any, object]],
    keys: list[str],
    run_s: float,
) -> int:
    n = 1000
    while True:
        t0 = time.perf_counter()
        await loop_rate(call, keys, CONTEXT, n)
        elapsed = time.perf_counter() - t0
        if elapsed > 0.05:
            return max(1000, int(n * run_s / elapsed))
        n *= 4


def step_cost(stmt: Callable[[], object], repeat: int) -> float:
    """Best seconds per call of ``stmt`` (timeit, autoranged)."""
    timer = timeit.Timer(stmt)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number


def breakdown(ks: Keystead, key: str, secret: bytes, repeat: int) -> list[tuple[str, float]]:
    ctx = ks._ctx  # the bench looks inside on purpose
    assert hmac.digest(secret, key.encode(), "sha256") == ctx.hasher.hash(key)
    digest = ctx.hasher.hash(key)
    cached = ctx.keys.get(digest)
    assert isinstance(cached, CachedKey)
    record = cached.record
    assert record.restrictions is not None
    text = CONTEXT.permissions or ""
    query = parse_query_cached(text)
    now = ctx.clock.now()
    restrictions = record.restrictions
    grants = record.grants
    cache = ctx.keys
    hasher = ctx.hasher
    clock = ctx.clock
    steps: list[tuple[str, Callable[[], object]]] = [
        ("permissions query (parse_query_cached)", lambda: parse_query_cached(text)),
        ("keyformat.is_well_formed (regex + CRC-32)", lambda: keyformat.is_well_formed(key)),
        ("  ref: keyformat.parse (also builds ParsedKey)", lambda: keyformat.parse(key)),
        ("hasher.hash (HMAC-SHA256)", lambda: hasher.hash(key)),
        (
            "  ref: stdlib hmac.digest, same bytes",
            lambda: hmac.digest(secret, key.encode(), "sha256"),
        ),
        ("cache get (TtlLruCache.get)", lambda: cache.get(digest)),
        ("clock.now", clock.now),
        ("decide (all rules)", lambda: decide(record, CONTEXT, now, query)),
        ("  of which restrictions.check (ip)", lambda: restrictions.check(CONTEXT, now, None)),
        ("  of which query.evaluate", lambda: query.evaluate(grants)),
    ]
    return [(name, step_cost(stmt, repeat)) for name, stmt in steps]


async def empty_coroutine(_key: str, _context: VerifyContext) -> None:
    return None


def run_peer(quick: bool) -> dict[str, Any]:
    python = peer_python("drf", PEER_REQUIREMENTS)
    args = [
        str(python),
        str(BENCH_DIR / "peers" / "drf_is_valid.py"),
        "--keys",
        "10000",
        "--seconds",
        "1" if quick else "3",
        "--runs",
        "2" if quick else "5",
        "--core",
        "0",
    ]
    done = subprocess.run(args, check=True, capture_output=True, text=True, timeout=900)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    runs = 3 if args.quick else args.runs
    run_s = 0.3 if args.quick else 1.0
    with tempfile.TemporaryDirectory(prefix="ks-bench-") as tmp_name:
        t0 = time.perf_counter()
        secret = secrets.token_bytes(32)
        ks, key = await build(Path(tmp_name), args.keys, secret)
        build_s = time.perf_counter() - t0
        try:
            verdict = await ks.verify(key, CONTEXT)
            assert verdict.code is Code.VALID, verdict
            denied = await ks.verify(key, VerifyContext(ip="8.8.8.8", permissions="documents.read"))
            assert denied.code is Code.FORBIDDEN, denied

            verify = ks.verify
            n = await calibrate(verify, [key], run_s)
            rates = [await loop_rate(verify, [key], CONTEXT, n) for _ in range(runs)]

            rng = random.Random(7)
            bad_checksum = []
            for _ in range(1000):
                body = "".join(rng.choice(keyformat.ALPHABET) for _ in range(38))
                candidate = f"{PREFIX}_{body}"
                if keyformat.parse(candidate) is None:
                    bad_checksum.append(candidate)
            junk = [
                "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 80)))
                for _ in range(1000)
            ]
            unknown = [keyformat.generate(PREFIX) for _ in range(1000)]
            for k in (*bad_checksum[:3], *junk[:3]):
                assert (await verify(k, CONTEXT)).code is Code.MALFORMED
            for k in unknown:  # fill the negative cache
                assert (await verify(k, CONTEXT)).code is Code.NOT_FOUND
            others: dict[str, list[float]] = {}
            for name, keys in (
                ("MALFORMED: key-shaped, bad checksum", bad_checksum),
                ("MALFORMED: random junk, 1-80 chars", junk),
                ("NOT_FOUND: unknown key (negative cache)", unknown),
            ):
                m = await calibrate(verify, keys, run_s / 2)
                others[name] = [await loop_rate(verify, keys, CONTEXT, m) for _ in range(3)]
            m = await calibrate(empty_coroutine, [key], run_s / 2)
            await_rate = max(
                [await loop_rate(empty_coroutine, [key], CONTEXT, m) for _ in range(3)]
            )
            steps = breakdown(ks, key, secret, repeat=3 if args.quick else 7)
        finally:
            await ks.close()
    return {
        "build_s": build_s,
        "rates": rates,
        "others": others,
        "await_rate": await_rate,
        "steps": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9, help="timed runs of ~1 s each")
    parser.add_argument("--no-peer", action="store_true", help="skip djangorestframework-api-key")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    pinned = pin_to_core(0)

    result = asyncio.run(main_async(args))
    peer = None if args.no_peer else run_peer(args.quick)

    rates: list[float] = result["rates"]
    best, mid = max(rates), median(rates)
    print_table(
        "verify_inprocess: cached key, IP restriction + permission query, one core",
        [
            ("run", ""),
            *machine_rows(),
            ("pinned", "core 0" if pinned else "no (sched_setaffinity unavailable)"),
            ("keys", f"{args.keys:,} on SQLite (built in {result['build_s']:.1f} s)"),
            ("mode", "quick" if args.quick else "full"),
        ],
        right=False,
    )
    rows = [
        ("", "best", "median", "target", "met"),
        (
            "keystead ks.verify",
            fmt_rate(best),
            fmt_rate(mid),
            f">= {TARGET_PER_S:,}/s",
            "yes" if best >= TARGET_PER_S else "NO",
        ),
    ]
    if peer is not None:
        ratio = best / peer["per_s"]
        rows += [
            (
                f"drf-api-key {peer['versions']['djangorestframework-api-key']} is_valid",
                fmt_rate(peer["per_s"]),
                fmt_rate(peer["median_per_s"]),
                "",
                "",
            ),
            (
                "ratio keystead / drf-api-key",
                fmt_ratio(ratio),
                fmt_ratio(mid / peer["median_per_s"]),
                f">= {TARGET_RATIO:.0f}x",
                "yes" if ratio >= TARGET_RATIO else "NO",
            ),
        ]
    print_table("throughput (verifications per second)", rows)

    other_rows: list[tuple[str, ...]] = [("other outcomes (same loop)", "best", "x valid path")]
    for name, values in result["others"].items():
        other_rows.append((name, fmt_rate(max(values)), fmt_ratio(max(values) / best)))
    print_table("rejections", other_rows)

    per_verify = 1 / best

    def share(cost: float) -> str:
        return f"{cost / per_verify:.0%}"

    step_rows: list[tuple[str, ...]] = [("step (timeit, best)", "cost", "share of verify")]
    total = 0.0
    for name, cost in result["steps"]:
        if not name.startswith("  "):
            total += cost
        step_rows.append((name, fmt_us(cost), share(cost)))
    await_cost = 1 / result["await_rate"]
    rest = per_verify - total - await_cost
    step_rows += [
        ("await of an empty coroutine (loop cost)", fmt_us(await_cost), share(await_cost)),
        ("sum of the steps above", fmt_us(total + await_cost), share(total + await_cost)),
        ("rest: Verifier.verify glue (calls, branches)", fmt_us(rest), share(rest)),
        ("one full ks.verify (best run)", fmt_us(per_verify), "100%"),
    ]
    print_table("where the time goes", step_rows)

    if args.json:
        payload = {"keystead": result, "peer": peer, "machine": dict(machine_rows())}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, default=str))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
