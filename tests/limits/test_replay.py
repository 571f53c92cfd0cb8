"""The offline replay decides as the memory limiter does, request by request."""

import random

import pytest

from keystead.limits import Check, Credits, MemoryLimiter, Quota, RateLimit, Refill
from keystead.limits.replay import Replay

SETS = [
    ([RateLimit("day", 40, 86_400.0)], None, None),
    ([RateLimit("s", 5, 10.0, burst=3)], None, None),
    ([RateLimit("w", 7, 30.0, algorithm="sliding_window")], None, None),
    ([], Quota(20, "day"), None),
    ([], Quota(0, "day"), None),
    ([], Quota(50, "week", "Europe/Paris", 3600), None),
    ([], None, Credits(15, Refill(10, 3600.0))),
    ([], None, Credits(15, Refill(4, 1800.0, "add", 30))),
    (
        [RateLimit("m", 10, 60.0), RateLimit("w", 30, 600.0, algorithm="sliding_window")],
        Quota(40, "day"),
        Credits(100, Refill(25, 7200.0)),
    ),
]


@pytest.mark.parametrize(("rates", "quota", "credits"), SETS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replay_matches_the_memory_limiter(
    rates: list[RateLimit], quota: Quota | None, credits: Credits | None, seed: int
) -> None:
    rng = random.Random(seed)
    now = 1_750_000_000.0
    times = []
    for _ in range(600):
        now += rng.choice([0.0, 0.3, 1.0, 2.5, 7.0, 45.0, 400.0, 5000.0])
        times.append(now)
    checks = [Check(f"rl:{r.name}", r) for r in rates]
    if quota is not None:
        checks.append(Check("q", quota))
    if credits is not None:
        checks.append(Check("c", credits))
    limiter = MemoryLimiter()
    expected = [t for t in times if not limiter.decide_now(checks, t).allowed]
    assert Replay(rates, quota, credits).refused(times) == expected
    assert 0 < len(expected) < len(times) or quota == Quota(0, "day")
