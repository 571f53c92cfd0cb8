"""Concurrency: at most ``limit`` leases held; expired leases are reclaimed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from keystead.limits import Check, Concurrency, Lease, Limiter

from ._support import NOW


async def test_acquire_release(limiter: Limiter, key: Callable[[str], str]) -> None:
    check = [Check(key("n"), Concurrency(limit=2, lease_s=30.0))]
    first = await limiter.decide(check, NOW)
    second = await limiter.decide(check, NOW + 1)
    assert first.allowed and second.allowed and second.results[0].remaining == 0
    assert len(first.lease_ids) == 1 and first.lease_ids[0].key == key("n")
    assert first.lease_ids != second.lease_ids
    refused = await limiter.decide(check, NOW + 2)
    assert not refused.allowed and refused.code == "RATE_LIMITED" and refused.lease_ids == ()
    assert refused.results[0].retry_after == pytest.approx(28.0)  # first lease's expiry
    await limiter.release(first.lease_ids)
    await limiter.release(first.lease_ids)  # twice: harmless
    third = await limiter.decide(check, NOW + 3)
    assert third.allowed and third.results[0].remaining == 0
    assert third.results[0].reset == pytest.approx(NOW + 31.0)  # the oldest held lease


async def test_expired_leases_are_reclaimed(limiter: Limiter, key: Callable[[str], str]) -> None:
    check = [Check(key("n"), Concurrency(limit=1, lease_s=5.0))]
    assert (await limiter.decide(check, NOW)).allowed
    assert not (await limiter.decide(check, NOW + 4.9)).allowed
    late = await limiter.decide(check, NOW + 5.0)
    assert late.allowed and late.results[0].remaining == 0


async def test_cost_zero_takes_no_lease(limiter: Limiter, key: Callable[[str], str]) -> None:
    check = [Check(key("n"), Concurrency(limit=1), cost=0)]
    peek = await limiter.decide(check, NOW)
    assert peek.allowed and peek.lease_ids == () and peek.results[0].remaining == 1
    assert (await limiter.decide([Check(key("n"), Concurrency(limit=1), cost=5)], NOW)).allowed


async def test_unknown_leases_are_ignored(limiter: Limiter, key: Callable[[str], str]) -> None:
    await limiter.release([Lease(key("n"), "nope")])
