"""Credits: a balance spent by ``cost``, refilled lazily ("set" or "add")."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from keystead.limits import Check, Credits, Limiter, Refill

from ._support import NOW


async def test_spend_until_empty(limiter: Limiter, key: Callable[[str], str]) -> None:
    spec = Credits(5)
    assert (await limiter.decide([Check(key("c"), spec, cost=3)], NOW)).allowed
    refused = await limiter.decide([Check(key("c"), spec, cost=3)], NOW)
    assert not refused.allowed and refused.code == "USAGE_EXCEEDED"
    result = refused.results[0]
    assert (result.remaining, result.reset, result.retry_after) == (2, None, None)
    assert (await limiter.decide([Check(key("c"), spec, cost=2)], NOW)).allowed
    assert await limiter.get_credits(key("c")) == 0


async def test_refill_set_tops_up(limiter: Limiter, key: Callable[[str], str]) -> None:
    spec = Credits(10, Refill(amount=10, interval_s=60.0, mode="set"))
    assert (await limiter.decide([Check(key("c"), spec, cost=9)], NOW)).allowed
    refused = await limiter.decide([Check(key("c"), spec, cost=2)], NOW + 30)
    assert not refused.allowed
    assert refused.results[0].retry_after == pytest.approx(30.0)
    assert refused.results[0].reset == pytest.approx(NOW + 60)
    topped = await limiter.decide([Check(key("c"), spec, cost=2)], NOW + 185)  # 3 refills
    assert topped.allowed and topped.results[0].remaining == 8  # set: 10, not 1 + 30
    assert topped.results[0].reset == pytest.approx(NOW + 240)


async def test_refill_add_accumulates_up_to_cap(
    limiter: Limiter, key: Callable[[str], str]
) -> None:
    spec = Credits(0, Refill(amount=5, interval_s=10.0, mode="add", cap=12))
    refused = await limiter.decide([Check(key("c"), spec, cost=7)], NOW)
    assert not refused.allowed and refused.results[0].retry_after == pytest.approx(20.0)
    after_two = await limiter.decide([Check(key("c"), spec, cost=0)], NOW + 25)
    assert after_two.results[0].remaining == 10
    capped = await limiter.decide([Check(key("c"), spec, cost=1)], NOW + 1000)
    assert capped.allowed and capped.results[0].remaining == 11  # capped at 12, minus 1
    never = await limiter.decide([Check(key("c"), spec, cost=13)], NOW + 1000)
    assert not never.allowed and never.results[0].retry_after is None


async def test_refill_add_uncapped(limiter: Limiter, key: Callable[[str], str]) -> None:
    spec = Credits(1, Refill(amount=2, interval_s=1.0, mode="add"))
    await limiter.decide([Check(key("c"), spec, cost=1)], NOW)
    assert (await limiter.decide([Check(key("c"), spec, cost=0)], NOW + 100.5)).results[
        0
    ].remaining == 200


async def test_manage_balance(limiter: Limiter, key: Callable[[str], str]) -> None:
    spec = Credits(5, Refill(amount=5, interval_s=60.0))
    assert await limiter.get_credits(key("c")) is None
    assert await limiter.adjust_credits(key("c"), 3) is None  # unknown: nothing created
    assert await limiter.get_credits(key("c")) is None
    await limiter.set_credits(key("c"), 1, NOW)
    refused = await limiter.decide([Check(key("c"), spec, cost=2)], NOW)
    assert not refused.allowed and refused.results[0].remaining == 1
    assert await limiter.adjust_credits(key("c"), 4) == 5
    assert (await limiter.decide([Check(key("c"), spec, cost=5)], NOW)).allowed
    assert await limiter.adjust_credits(key("c"), -2) == -2  # debt: refills must cover it
    assert await limiter.get_credits(key("c")) == -2
    assert await limiter.get_credits(key("c"), spec, NOW + 60) == 5  # set mode tops up
    await limiter.clear([key("c")])
    assert await limiter.get_credits(key("c")) is None
