"""Peer for bench/limits_bench.py: the ``limits`` library (alisaifee/limits).

Runs inside the peer's own virtualenv (``bench/.peers/limits``), never the
project's, as a long-lived subprocess so the bench can alternate short runs of
peer and Keystead. Prints {"version", "redis_py"} first, then answers each
stdin line "<case> <seconds>" by timing sequential ``hit`` calls of one limit
in a tight loop: {"per_s": ..., "admitted": ...}.

Cases:
  redis_moving    RedisStorage (one synchronous redis-py client, so one
                  connection for sequential hits) + MovingWindowRateLimiter
  memory_fixed    MemoryStorage + FixedWindowRateLimiter
  memory_sliding  MemoryStorage + SlidingWindowCounterRateLimiter
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Callable
from importlib.metadata import version


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--limit", type=int, default=100_000, help="hits per second (redis)")
    args = parser.parse_args()

    from limits.storage import MemoryStorage, RedisStorage
    from limits.strategies import (
        FixedWindowRateLimiter,
        MovingWindowRateLimiter,
        SlidingWindowCounterRateLimiter,
    )

    from limits import RateLimitItemPerSecond

    namespace = f"bench-limits-peer-{secrets.token_hex(4)}"
    redis_storage = RedisStorage(args.redis, key_prefix=namespace)
    limiters = {
        "redis_moving": (MovingWindowRateLimiter(redis_storage), args.limit),
        "memory_fixed": (FixedWindowRateLimiter(MemoryStorage()), 10**9),
        "memory_sliding": (SlidingWindowCounterRateLimiter(MemoryStorage()), 10**9),
    }
    print(json.dumps({"version": version("limits"), "redis_py": version("redis")}), flush=True)
    # one request per line on stdin: "<case> <seconds>"; one JSON answer per line
    for line in sys.stdin:
        case, seconds = line.split()
        limiter, limit = limiters[case]
        item = RateLimitItemPerSecond(limit)
        hit = limiter.hit
        admitted = [0]

        def one(
            hit: Callable[..., bool] = hit, item: object = item, admitted: list[int] = admitted
        ) -> None:
            if hit(item, "bench", "one"):
                admitted[0] += 1

        one()
        rate = timed(one, float(seconds))
        print(json.dumps({"per_s": rate, "admitted": admitted[0]}), flush=True)
    redis_storage.reset()


if __name__ == "__main__":
    main()
