"""Throughput of the limits engine against the ``limits`` library, same run.

    .venv/bin/python bench/limits_bench.py            # about 90 s
    .venv/bin/python bench/limits_bench.py --quick    # about 20 s

Redis (``--redis``, default $KEYSTEAD_TEST_REDIS_URL or redis://127.0.0.1:6379/0):
one synchronous connection, sequential decisions of ONE limit, every one
admitted (100,000 per second against ~20,000 offered). Keystead:
``SyncRedisLimiter.decide_now`` (one EVALSHA of lua/decide.lua per decision,
own RESP client) with the exact sliding window and with GCRA; peer:
``MovingWindowRateLimiter(RedisStorage(url)).hit`` (limits' exact moving
window, one EVALSHA per hit, redis-py client). Also Keystead's whole
decision (3 rate limits + quota + credits: still one round trip), and the
async ``RedisLimiter`` (own pipelined client) awaited one at a time and 64
at a time over its one connection (the peer stays sequential: context only).

Memory: ``MemoryLimiter.decide_now`` of one GCRA limit (and one exact sliding
window) against limits' ``MemoryStorage`` with its fixed window and sliding
window counter strategies, limits high enough that every hit is admitted.
The peer runs in its own virtualenv (bench/.peers/limits) in a subprocess;
limits is timed right before and after each group of Keystead runs, rounds
repeat that; the table shows medians (the machines are shared and noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable, Sequence

from _common import BENCH_DIR, fmt_rate, fmt_ratio, machine_rows, median, peer_python, print_table

from keystead.limits import (
    Check,
    Credits,
    Limiter,
    MemoryLimiter,
    Quota,
    RateLimit,
    open_limiter,
)
from keystead.limits._resp import RespConnection
from keystead.limits.redis_sync import SyncRedisLimiter

PEER_REQUIREMENTS = ["limits[redis]"]


def timed(fn: Callable[[], object], seconds: float) -> float:
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(200):
            fn()
        calls += 200
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start)


def whole(ns: str) -> list[Check]:
    """3 rate limits + a quota + credits, one hash tag: one Lua call."""
    return [
        Check(f"{{{ns}}}:rl:s", RateLimit("second", 10**9, 1.0)),
        Check(f"{{{ns}}}:rl:m", RateLimit("minute", 10**9, 60.0)),
        Check(f"{{{ns}}}:rl:w", RateLimit("exact", 100_000, 1.0, algorithm="sliding_window")),
        Check(f"{{{ns}}}:q", Quota(10**12, "month", "Europe/Berlin")),
        Check(f"{{{ns}}}:c", Credits(10**12)),
    ]


class Ours:
    """Keystead's cases, set up once; ``run(case, seconds)`` -> decisions/s."""

    def __init__(self, redis_url: str) -> None:
        ns = f"bench-ks-{secrets.token_hex(4)}"
        self.sync = SyncRedisLimiter(redis_url)
        self.ping = RespConnection(redis_url, 1.0)
        self.runner = asyncio.Runner()
        self.aio: Limiter = self.runner.run(_open(redis_url))
        self.memory = MemoryLimiter()
        window = RateLimit("w", 100_000, 1.0, algorithm="sliding_window")
        self.checks = {
            "redis_window": [Check(f"{ns}:w", window)],
            "redis_gcra": [Check(f"{ns}:g", RateLimit("g", 100_000, 1.0))],
            "redis_whole": whole(ns),
            "redis_ping": [],
            "redis_async": [Check(f"{ns}:aw", window)],
            "redis_async_64": [Check(f"{ns}:ag", RateLimit("g", 10**9, 1.0))],
            "memory_gcra": [Check("m:g", RateLimit("g", 10**9, 1.0))],
            "memory_window": [
                Check("m:w", RateLimit("w", 100_000, 0.1, algorithm="sliding_window"))
            ],
            "memory_whole": whole("m"),
        }

    def run(self, case: str, seconds: float) -> float:
        checks, now = self.checks[case], time.time
        if case == "redis_ping":
            return timed(lambda: self.ping.call("PING"), seconds)
        if case.startswith("redis_async"):
            width = 64 if case == "redis_async_64" else 1
            return self.runner.run(_timed_async(self.aio, checks, seconds, width))
        decide = self.sync.decide_now if case.startswith("redis") else self.memory.decide_now
        return timed(lambda: decide(checks, now()), seconds)

    def close(self) -> None:
        keys = [c.key for name, cs in self.checks.items() if name.startswith("redis") for c in cs]
        self.sync.clear_now(keys)
        self.sync.close()
        self.ping.close()
        self.runner.run(self.aio.close())
        self.runner.close()


async def _open(url: str) -> Limiter:
    return open_limiter(url)


async def _timed_async(limiter: Limiter, checks: list[Check], seconds: float, width: int) -> float:
    """Decisions/s awaited one at a time (width 1) or ``width`` at once."""
    calls = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if width == 1:
            for _ in range(100):
                await limiter.decide(checks, time.time())
            calls += 100
        else:
            await asyncio.gather(*(limiter.decide(checks, time.time()) for _ in range(width)))
            calls += width
    return calls / (time.perf_counter() - start)


class Peer:
    """The ``limits`` peer as a long-lived subprocess in its own venv."""

    def __init__(self, redis_url: str) -> None:
        python = peer_python("limits", PEER_REQUIREMENTS)
        args = [str(python), str(BENCH_DIR / "limits_peer.py"), "--redis", redis_url]
        self.process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.versions = json.loads(self._line())

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the limits peer exited")
        return line

    def run(self, case: str, seconds: float) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{case} {seconds}\n")
        self.process.stdin.flush()
        return float(json.loads(self._line())["per_s"])

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


# (Keystead case, limits case, label); limits is timed right before and right
# after each group of Keystead cases, and each ratio uses the mean of the two.
PAIRS = [
    ("redis_window", "redis_moving", "redis: exact sliding window vs moving window"),
    ("redis_gcra", "redis_moving", "redis: gcra vs moving window"),
    ("redis_async", "redis_moving", "redis: async RedisLimiter (exact window), awaited"),
    ("redis_async_64", "redis_moving", "redis: async RedisLimiter (gcra), 64 at once"),
    ("redis_whole", None, "redis: whole decision, 3 rl + quota + credits"),
    ("redis_ping", None, "redis: bare PING round trip (the floor of any client)"),
    ("memory_gcra", "memory_fixed", "memory: gcra vs fixed window"),
    ("memory_gcra", "memory_sliding", "memory: gcra vs sliding window counter"),
    ("memory_window", "memory_sliding", "memory: exact sliding window vs sliding counter"),
    ("memory_whole", None, "memory: whole decision, 3 rl + quota + credits"),
]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    default_url = os.environ.get("KEYSTEAD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    parser.add_argument("--redis", default=default_url)
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one timed run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 0.5 s")
    args = parser.parse_args(argv)
    seconds, rounds = (0.5, 2) if args.quick else (args.seconds, args.rounds)

    peer, ours = Peer(args.redis), Ours(args.redis)
    rates: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    try:
        for _ in range(rounds):
            for group in ("redis", "memory"):
                peer_cases = sorted({p for o, p, _ in PAIRS if p and o.startswith(group)})
                before = {p: peer.run(p, seconds) for p in peer_cases}
                mine = {o: ours.run(o, seconds) for o, _, _ in PAIRS if o.startswith(group)}
                after = {p: peer.run(p, seconds) for p in peer_cases}
                for name, value in mine.items():
                    rates.setdefault(name, []).append(value)
                for p in peer_cases:
                    rates.setdefault(p, []).append((before[p] + after[p]) / 2)
                for o, ref, label in PAIRS:
                    if ref and o.startswith(group):
                        mean = (before[ref] + after[ref]) / 2
                        ratios.setdefault(label, []).append(mine[o] / mean)
    finally:
        ours.close()
        peer.close()

    print_table("machine", [("fact", "value"), *machine_rows()], right=False)
    rows = [("case", "keystead", "limits", "ratio")]
    for o, ref, label in PAIRS:
        theirs = fmt_rate(median(rates[ref])) if ref else "-"
        ratio = fmt_ratio(median(ratios[label])) if ref else "-"
        rows.append((label, fmt_rate(median(rates[o])), theirs, ratio))
    title = (
        f"decisions per second, one client, sequential unless noted: medians of {rounds}"
        f" round(s) of {seconds:g} s; ratio = median of per-round ratios; limits"
        f" {peer.versions['version']} (redis-py {peer.versions['redis_py']})"
    )
    print_table(title, rows)


if __name__ == "__main__":
    main()
