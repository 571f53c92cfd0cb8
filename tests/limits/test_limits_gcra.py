"""GCRA: ``limit`` per ``duration_s`` sustained, ``burst`` at once, on both backends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from keystead.limits import Check, Limiter, RateLimit

from ._support import NOW


async def test_burst_then_one_per_interval(limiter: Limiter, key: Callable[[str], str]) -> None:
    spec = RateLimit("api", limit=10, duration_s=10.0, burst=3)  # one unit per second
    check = [Check(key("rl"), spec)]
    for left in (2, 1, 0):
        decision = await limiter.decide(check, NOW)
        assert decision.allowed and decision.results[0].remaining == left
    refused = await limiter.decide(check, NOW)
    assert not refused.allowed and refused.code == "RATE_LIMITED"
    assert refused.results[0].retry_after == pytest.approx(1.0)
    assert refused.retry_after == pytest.approx(1.0)
    assert refused.results[0].reset == pytest.approx(NOW + 3.0)

    assert not (await limiter.decide(check, NOW + 0.999)).allowed
    assert (await limiter.decide(check, NOW + 1.0)).allowed
    assert not (await limiter.decide(check, NOW + 1.5)).allowed
    later = await limiter.decide(check, NOW + 60.0)  # idle: the bucket is full again
    assert later.allowed and later.results[0].remaining == 2


async def test_burst_defaults_to_limit(limiter: Limiter, key: Callable[[str], str]) -> None:
    check = [Check(key("rl"), RateLimit("api", limit=5, duration_s=1.0))]
    allowed = [(await limiter.decide(check, NOW)).allowed for _ in range(6)]
    assert allowed == [True] * 5 + [False]


async def test_cost_spends_that_many_units(limiter: Limiter, key: Callable[[str], str]) -> None:
    spec = RateLimit("api", limit=10, duration_s=10.0)
    decision = await limiter.decide([Check(key("rl"), spec, cost=7)], NOW)
    assert decision.allowed and decision.results[0].remaining == 3
    refused = await limiter.decide([Check(key("rl"), spec, cost=4)], NOW)
    assert not refused.allowed and refused.results[0].remaining == 3
    assert refused.results[0].retry_after == pytest.approx(1.0)
    assert (await limiter.decide([Check(key("rl"), spec, cost=3)], NOW)).allowed


async def test_cost_zero_peeks(limiter: Limiter, key: Callable[[str], str]) -> None:
    spec = RateLimit("api", limit=2, duration_s=2.0)
    await limiter.decide([Check(key("rl"), spec, cost=2)], NOW)
    peek = await limiter.decide([Check(key("rl"), spec, cost=0)], NOW)
    assert peek.allowed and peek.results[0].remaining == 0
    assert peek.results[0].reset == pytest.approx(NOW + 2.0)


async def test_cost_above_burst_never_passes(limiter: Limiter, key: Callable[[str], str]) -> None:
    spec = RateLimit("api", limit=10, duration_s=1.0, burst=4)
    refused = await limiter.decide([Check(key("rl"), spec, cost=5)], NOW)
    assert not refused.allowed
    assert refused.results[0].retry_after is None and refused.retry_after is None
    assert refused.results[0].remaining == 4


async def test_fractional_interval_counts_exactly(
    limiter: Limiter, key: Callable[[str], str]
) -> None:
    """0.1 s per unit: float rounding never loses or invents a unit."""
    check = [Check(key("rl"), RateLimit("api", limit=10, duration_s=1.0))]
    remaining = [(await limiter.decide(check, NOW + 0.3)).results[0].remaining for _ in range(10)]
    assert remaining == list(range(9, -1, -1))
    assert not (await limiter.decide(check, NOW + 0.3)).allowed
    assert (await limiter.decide(check, NOW + 0.4)).allowed
