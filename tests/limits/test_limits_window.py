"""Exact sliding window: never more than ``limit`` units in any ``duration_s``."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from keystead.limits import Check, Limiter, RateLimit

from ._support import NOW


def window(limit: int, duration: float) -> RateLimit:
    return RateLimit("win", limit=limit, duration_s=duration, algorithm="sliding_window")


async def test_units_leave_the_window_one_by_one(
    limiter: Limiter, key: Callable[[str], str]
) -> None:
    check = [Check(key("w"), window(3, 10.0))]
    for t in (0.0, 1.0, 2.0):
        assert (await limiter.decide(check, NOW + t)).allowed
    refused = await limiter.decide(check, NOW + 9.5)
    assert not refused.allowed and refused.results[0].remaining == 0
    assert refused.results[0].retry_after == pytest.approx(0.5)  # the unit of t=0 leaves at 10
    assert refused.results[0].reset == pytest.approx(NOW + 12.0)
    assert not (await limiter.decide(check, NOW + 9.999)).allowed
    passed = await limiter.decide(check, NOW + 10.0)
    assert passed.allowed and passed.results[0].remaining == 0
    assert not (await limiter.decide(check, NOW + 10.5)).allowed
    assert (await limiter.decide(check, NOW + 11.0)).allowed


async def test_strict_over_every_rolling_window(
    limiter: Limiter, key: Callable[[str], str]
) -> None:
    """Unlike a fixed window, a burst at a boundary cannot double the limit."""
    limit, duration = 5, 2.0
    check = [Check(key("w"), window(limit, duration))]
    rng = random.Random(7)
    t, admitted = NOW, []
    for _ in range(300):
        t += rng.choice((0.0, 0.01, 0.1, 0.25, 0.7))
        if (await limiter.decide(check, t)).allowed:
            admitted.append(t)
    for start in admitted:
        inside = [a for a in admitted if start <= a < start + duration]
        assert len(inside) <= limit
    assert len(admitted) >= limit


async def test_cost_and_retry_for_cost(limiter: Limiter, key: Callable[[str], str]) -> None:
    spec = window(10, 60.0)
    await limiter.decide([Check(key("w"), spec, cost=4)], NOW)
    await limiter.decide([Check(key("w"), spec, cost=4)], NOW + 10.0)
    refused = await limiter.decide([Check(key("w"), spec, cost=5)], NOW + 20.0)
    assert not refused.allowed and refused.results[0].remaining == 2
    assert refused.results[0].retry_after == pytest.approx(40.0)  # first 4 leave at 60
    zero = await limiter.decide([Check(key("w"), spec, cost=0)], NOW + 20.0)
    assert zero.allowed and zero.results[0].remaining == 2
    assert (await limiter.decide([Check(key("w"), spec, cost=2)], NOW + 20.0)).allowed
    never = await limiter.decide([Check(key("w"), spec, cost=11)], NOW + 500.0)
    assert not never.allowed and never.results[0].retry_after is None


async def test_idle_window_empties(limiter: Limiter, key: Callable[[str], str]) -> None:
    check = [Check(key("w"), window(2, 1.0))]
    await limiter.decide(check, NOW)
    await limiter.decide(check, NOW)
    later = await limiter.decide(check, NOW + 5.0)
    assert later.allowed and later.results[0].remaining == 1
