"""Calendar periods of a quota: where the period holding ``now`` starts and ends.

A period starts at the local wall-clock time ``00:00 + offset_s`` of its first
day (every day; Mondays; the 1st of each month) in the quota's time zone.
Wall times map to instants with ``fold=0``: an ambiguous time (clocks going
back) is its first occurrence, a time skipped by clocks going forward is read
with the offset in force before the jump (so it lands just after the jump).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from keystead.limits.specs import Quota

_BOUNDS_CACHE_MAX = 4096
_cache: dict[Quota, tuple[float, float]] = {}


def _anchor(day: date, period: str) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _step(anchor: date, period: str, steps: int) -> date:
    if period == "day":
        return anchor + timedelta(days=steps)
    if period == "week":
        return anchor + timedelta(days=7 * steps)
    months = anchor.year * 12 + anchor.month - 1 + steps
    return date(months // 12, months % 12 + 1, 1)


def _instant(anchor: date, spec: Quota) -> float:
    wall = datetime(anchor.year, anchor.month, anchor.day) + timedelta(seconds=spec.offset_s)
    return wall.replace(tzinfo=spec._zone).timestamp()


def period_bounds(spec: Quota, now: float) -> tuple[float, float]:
    """``(start, end)`` of the period holding ``now``: ``start <= now < end``.

    Memoised per spec while ``now`` stays inside the last answer, so the
    zone arithmetic runs once per period rather than once per decision.
    """
    hit = _cache.get(spec)
    if hit is not None and hit[0] <= now < hit[1]:
        return hit
    local = datetime.fromtimestamp(now, spec._zone).replace(tzinfo=None)
    anchor = _anchor((local - timedelta(seconds=spec.offset_s)).date(), spec.period)
    start = _instant(anchor, spec)
    while start > now:
        anchor = _step(anchor, spec.period, -1)
        start = _instant(anchor, spec)
    end = _instant(_step(anchor, spec.period, 1), spec)
    while end <= now:
        anchor = _step(anchor, spec.period, 1)
        start, end = end, _instant(_step(anchor, spec.period, 1), spec)
    if len(_cache) >= _BOUNDS_CACHE_MAX:
        _cache.clear()
    _cache[spec] = (start, end)
    return start, end


def bounds_around(spec: Quota, now: float) -> tuple[float, float, float, float]:
    """Four consecutive period starts around ``now``: previous, current, next,
    and the one after. The Redis script picks the period that holds the
    server's own clock when the caller lets Redis tell the time."""
    start, end = period_bounds(spec, now)
    before, _ = period_bounds(spec, start - 1.0)
    _, after = period_bounds(spec, end)
    return before, start, end, after
