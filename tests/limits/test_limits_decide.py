"""One decision over many counters: all or nothing, one code, one backend URI."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from keystead.errors import ConfigurationError, MissingDependency, ValidationError
from keystead.limits import (
    BACKENDS,
    Check,
    Concurrency,
    Credits,
    Limiter,
    MemoryLimiter,
    Quota,
    RateLimit,
    open_limiter,
)

from ._support import NOW


def plan(key: Callable[[str], str], credits: int = 100, burst: int = 5) -> list[Check]:
    return [
        Check(key("rl:s"), RateLimit("second", limit=5, duration_s=1.0, burst=burst)),
        Check(key("rl:w"), RateLimit("window", 10, 60.0, algorithm="sliding_window")),
        Check(key("q"), Quota(100, "month")),
        Check(key("c"), Credits(credits)),
        Check(key("n"), Concurrency(limit=10)),
    ]


async def test_a_refused_decision_spends_nothing(
    limiter: Limiter, key: Callable[[str], str]
) -> None:
    checks = plan(key, credits=2)
    assert (await limiter.decide(checks, NOW)).allowed
    assert (await limiter.decide(checks, NOW)).allowed
    refused = await limiter.decide(checks, NOW)  # credits are out
    assert not refused.allowed and refused.code == "USAGE_EXCEEDED"
    assert [r.allowed for r in refused.results] == [True, True, True, False, True]
    assert [r.remaining for r in refused.results] == [3, 8, 98, 0, 8]
    assert refused.lease_ids == ()
    again = await limiter.decide(checks[:3] + checks[4:], NOW)  # without credits
    assert again.allowed
    assert [r.remaining for r in again.results] == [2, 7, 97, 7]
    assert (await limiter.quota_usage(key("q"), Quota(100, "month"), NOW)).used == 3


async def test_rate_limit_refusal_spends_no_quota(
    limiter: Limiter, key: Callable[[str], str]
) -> None:
    checks = plan(key, burst=1)
    assert (await limiter.decide(checks, NOW)).allowed
    refused = await limiter.decide(checks, NOW)
    assert not refused.allowed and refused.code == "RATE_LIMITED"
    assert refused.retry_after == pytest.approx(0.2)
    assert (await limiter.quota_usage(key("q"), Quota(100, "month"), NOW)).used == 1
    assert await limiter.get_credits(key("c")) == 99


async def test_usage_exceeded_takes_precedence(limiter: Limiter, key: Callable[[str], str]) -> None:
    checks = [
        Check(key("rl"), RateLimit("r", 1, 1.0)),
        Check(key("q"), Quota(1, "day")),
    ]
    assert (await limiter.decide(checks, NOW)).allowed
    both = await limiter.decide(checks, NOW)
    assert [r.allowed for r in both.results] == [False, False]
    assert both.code == "USAGE_EXCEEDED"
    assert both.retry_after is not None and both.retry_after > 3600  # the longer wait


async def test_clock_from_the_backend(limiter: Limiter, key: Callable[[str], str]) -> None:
    """``now=None``: memory reads time.time(), Redis runs TIME in the script."""
    checks = [Check(key("rl"), RateLimit("r", 1, 3600.0)), Check(key("q"), Quota(5, "day"))]
    before = time.time()
    decision = await limiter.decide(checks)
    assert decision.allowed
    reset = decision.results[0].reset
    assert reset is not None and before + 3590 < reset < time.time() + 3610
    assert not (await limiter.decide(checks)).allowed


async def test_empty_decision_is_allowed(limiter: Limiter) -> None:
    decision = await limiter.decide([], NOW)
    assert decision.allowed and decision.results == ()


async def test_bad_checks_are_rejected(limiter: Limiter, key: Callable[[str], str]) -> None:
    spec = RateLimit("r", 1, 1.0)
    with pytest.raises(ValidationError, match="cost"):
        await limiter.decide([Check(key("a"), spec, cost=-1)], NOW)
    with pytest.raises(ValidationError, match="once"):
        await limiter.decide([Check(key("a"), spec), Check(key("a"), spec)], NOW)


def test_unknown_scheme_names_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"memcached.*memory://.*redis://"):
        open_limiter("memcached://localhost")
    assert isinstance(open_limiter("memory://"), MemoryLimiter)
    assert {"memory", "redis", "rediss", "redis+cluster"} <= set(BACKENDS)


def test_memory_decide_now_is_synchronous() -> None:
    limiter = MemoryLimiter()
    check = [Check("k", RateLimit("r", 2, 1.0))]
    assert [limiter.decide_now(check, NOW).allowed for _ in range(3)] == [True, True, False]


def test_driver_is_lazy_and_named_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    code = "import sys, keystead.limits; assert 'redis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    for name in [m for m in sys.modules if m == "redis" or m.startswith("redis.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "redis", None)  # makes `import redis` fail
    with pytest.raises(MissingDependency, match=r"keystead\[redis\]"):
        open_limiter("redis+cluster://127.0.0.1:7000")
    with pytest.raises(MissingDependency, match=r"keystead\[redis\]"):
        open_limiter("redis://127.0.0.1:6379/0?client=redis-py")
    assert open_limiter("redis://127.0.0.1:6379/0") is not None  # built-in client


def test_memory_sweep_keeps_live_counters() -> None:
    """Thousands of decisions trigger sweeps; live counters survive them and
    idle ones are forgotten."""
    limiter = MemoryLimiter()
    busy = [Check("busy", RateLimit("r", 10, 1000.0))]
    window = [Check("win", RateLimit("w", 10, 1000.0, algorithm="sliding_window"))]
    for i in range(2000):
        limiter.decide_now([Check(f"idle{i}", RateLimit("r", 5, 1.0))], NOW)
    admitted = sum(limiter.decide_now(busy, NOW + 10).allowed for _ in range(6000))
    admitted_window = sum(limiter.decide_now(window, NOW + 10).allowed for _ in range(6000))
    assert (admitted, admitted_window) == (10, 10)
    assert all(f"idle{i}" not in limiter._tat for i in range(2000))
