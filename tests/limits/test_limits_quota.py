"""Calendar quotas: periods in a time zone (DST, month ends, leap years, offsets)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from keystead.limits import Check, Limiter, Quota
from keystead.limits._calendar import bounds_around, period_bounds


def ts(text: str, zone: str = "UTC") -> float:
    """Epoch seconds of a wall time ``YYYY-mm-dd HH:MM[:SS]`` in ``zone``."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        ("2024-01-31 23:59:59", "2024-01-01 00:00", "2024-02-01 00:00"),
        ("2024-02-01 00:00:00", "2024-02-01 00:00", "2024-03-01 00:00"),
        ("2024-02-29 12:00:00", "2024-02-01 00:00", "2024-03-01 00:00"),  # leap year
        ("2023-02-28 23:59:59", "2023-02-01 00:00", "2023-03-01 00:00"),
        ("2024-12-31 23:59:59", "2024-12-01 00:00", "2025-01-01 00:00"),
    ],
)
def test_month_periods(now: str, start: str, end: str) -> None:
    assert tuple(map(utc, period_bounds(Quota(1, "month"), ts(now)))) == (start, end)


def test_week_starts_on_monday() -> None:
    bounds = period_bounds(Quota(1, "week"), ts("2024-03-07 10:00"))  # a Thursday
    assert tuple(map(utc, bounds)) == ("2024-03-04 00:00", "2024-03-11 00:00")


def test_days_across_dst_in_berlin() -> None:
    spec = Quota(1, "day", "Europe/Berlin")
    start, end = period_bounds(spec, ts("2024-03-31 12:00", "Europe/Berlin"))
    assert (end - start) / 3600 == 23  # clocks go forward
    assert utc(start) == "2024-03-30 23:00" and utc(end) == "2024-03-31 22:00"
    start, end = period_bounds(spec, ts("2024-10-27 12:00", "Europe/Berlin"))
    assert (end - start) / 3600 == 25  # clocks go back


def test_offset_shifts_the_boundary() -> None:
    spec = Quota(1, "day", "UTC", offset_s=3600)  # days start at 01:00
    assert tuple(map(utc, period_bounds(spec, ts("2024-05-02 00:30")))) == (
        "2024-05-01 01:00",
        "2024-05-02 01:00",
    )
    month = Quota(1, "month", "UTC", offset_s=14 * 86_400)  # months start on the 15th
    assert tuple(map(utc, period_bounds(month, ts("2024-03-01 00:00")))) == (
        "2024-02-15 00:00",
        "2024-03-15 00:00",
    )


def test_offset_into_a_dst_gap_lands_after_the_jump() -> None:
    """02:00 does not exist in New York on 2024-03-10: that day starts at 03:00 EDT."""
    spec = Quota(1, "day", "America/New_York", offset_s=2 * 3600)
    start, end = period_bounds(spec, ts("2024-03-10 12:00", "America/New_York"))
    assert utc(start) == "2024-03-10 07:00"  # 03:00 EDT
    assert utc(end) == "2024-03-11 06:00"  # 02:00 EDT the next day


def test_bounds_around_are_consecutive() -> None:
    spec = Quota(1, "month", "Europe/Berlin")
    before, start, end, after = bounds_around(spec, ts("2024-03-15 12:00"))
    assert [utc(b) for b in (before, start, end, after)] == [
        "2024-01-31 23:00",
        "2024-02-29 23:00",
        "2024-03-31 22:00",
        "2024-04-30 22:00",
    ]


async def test_quota_rolls_over_at_month_end(limiter: Limiter, key: Callable[[str], str]) -> None:
    spec = Quota(3, "month")
    check = [Check(key("q"), spec)]
    late = ts("2024-01-31 23:00")
    for left in (2, 1, 0):
        decision = await limiter.decide(check, late)
        assert decision.allowed and decision.results[0].remaining == left
    refused = await limiter.decide(check, late + 3599)
    assert not refused.allowed and refused.code == "USAGE_EXCEEDED"
    assert refused.results[0].reset == ts("2024-02-01 00:00")
    assert refused.results[0].retry_after == pytest.approx(1.0)
    usage = await limiter.quota_usage(key("q"), spec, late)
    assert (usage.used, usage.limit, usage.reset) == (3, 3, ts("2024-02-01 00:00"))

    february = await limiter.decide(check, ts("2024-02-01 00:00"))
    assert february.allowed and february.results[0].remaining == 2
    assert february.results[0].reset == ts("2024-03-01 00:00")  # leap year: 29 days
    assert (await limiter.quota_usage(key("q"), spec, ts("2024-02-29 23:59"))).used == 1
    assert (await limiter.quota_usage(key("q"), spec, ts("2024-03-01 00:00"))).used == 0


async def test_quota_in_a_zone_with_offset(limiter: Limiter, key: Callable[[str], str]) -> None:
    spec = Quota(1, "day", "Europe/Berlin", offset_s=3600)  # days start 01:00 Berlin
    check = [Check(key("q"), spec)]
    assert (await limiter.decide(check, ts("2024-10-27 00:30", "Europe/Berlin"))).allowed
    refused = await limiter.decide(check, ts("2024-10-27 00:59", "Europe/Berlin"))
    assert not refused.allowed
    assert refused.results[0].reset == ts("2024-10-27 01:00", "Europe/Berlin")
    assert (await limiter.decide(check, ts("2024-10-27 01:00", "Europe/Berlin"))).allowed
    # the 25-hour day: still one period until 01:00 on the 28th
    assert not (await limiter.decide(check, ts("2024-10-28 00:59", "Europe/Berlin"))).allowed


async def test_quota_cost(limiter: Limiter, key: Callable[[str], str]) -> None:
    spec = Quota(10, "day")
    now = ts("2024-06-01 12:00")
    assert (await limiter.decide([Check(key("q"), spec, cost=8)], now)).allowed
    refused = await limiter.decide([Check(key("q"), spec, cost=3)], now)
    assert not refused.allowed and refused.results[0].remaining == 2
    never = await limiter.decide([Check(key("q"), spec, cost=11)], ts("2024-06-02 12:00"))
    assert never.results[0].retry_after is None and never.retry_after is None
    zero = await limiter.decide([Check(key("q"), spec, cost=0)], now)
    assert zero.allowed and zero.results[0].remaining == 2
