"""The algorithms, as pure functions of a counter's state, a spec, a cost and
``now``. No storage here: ``memory.py`` keeps states in dicts and calls these;
``lua/decide.lua`` is the same arithmetic, step for step, for Redis (the
property tests hold both to one reference model). Formulas: docs/limits.md.

Times are float epoch seconds. Comparisons that add up float intervals (GCRA)
allow ``EPS`` (1 microsecond) of rounding: epoch doubles carry ~0.24 us.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from keystead.limits.decision import LimitResult
from keystead.limits.specs import Concurrency, Credits, Quota, RateLimit

EPS = 1e-6


def gcra(tat: float, spec: RateLimit, cost: int, now: float) -> tuple[bool, float]:
    """``(allowed, tat after spending)``; ``tat`` is the stored theoretical
    arrival time (``now`` when there is none). Allowed when the new TAT is
    no more than ``burst * interval`` ahead of now."""
    if tat < now:
        tat = now
    new = tat + cost * spec._interval
    return (cost == 0 or new - now <= spec._tolerance + EPS), new


def gcra_result(tat: float, spec: RateLimit, cost: int, now: float, allowed: bool) -> LimitResult:
    """Describe the counter whose TAT (after the decision) is ``tat``."""
    if tat < now:
        tat = now
    tol, interval = spec._tolerance, spec._interval
    remaining = min(spec.effective_burst, max(0, int((tol - (tat - now) + EPS) / interval)))
    retry = None
    if not allowed and cost * interval <= tol + EPS:
        retry = tat + cost * interval - tol - now
    return LimitResult(spec.name, "rate_limit", spec.limit, remaining, tat, retry, allowed)


def window_result(
    log: Sequence[float], spec: RateLimit, cost: int, now: float, allowed: bool
) -> LimitResult:
    """``log`` holds the expiry times (ascending) of the units counted in the
    window, expired ones already dropped."""
    n = len(log)
    retry = None
    if not allowed and cost <= spec.limit:
        retry = log[n + cost - spec.limit - 1] - now
    reset = log[-1] if n else now
    return LimitResult(
        spec.name, "rate_limit", spec.limit, max(0, spec.limit - n), reset, retry, allowed
    )


def quota_used(period: float | None, used: int, start: float) -> tuple[float, int]:
    """The (period start, used) that count now: a stored period older than
    the current one is over (usage 0); a newer one (a caller whose clock is
    behind) is kept, so skew never resets a counter early."""
    if period is None or period < start:
        return start, 0
    return period, used


def quota_result(
    used: int, spec: Quota, end: float, cost: int, now: float, allowed: bool
) -> LimitResult:
    retry = end - now if not allowed and cost <= spec.limit else None
    remaining = max(0, spec.limit - used)
    return LimitResult("quota", "quota", spec.limit, remaining, end, retry, allowed)


def refill(remaining: int, refilled_at: float, spec: Credits, now: float) -> tuple[int, float]:
    """Apply the refills due since ``refilled_at``: returns the balance and
    the time of the last refill boundary (boundaries are every interval
    after the counter was created or set)."""
    plan = spec.refill
    if plan is None or now < refilled_at + plan.interval_s:
        return remaining, refilled_at
    steps = math.floor((now - refilled_at) / plan.interval_s)
    if plan.mode == "set":
        remaining = max(remaining, plan.amount)
    else:
        topped = remaining + steps * plan.amount
        remaining = topped if plan.cap is None else min(topped, max(plan.cap, remaining))
    return remaining, refilled_at + steps * plan.interval_s


def credits_result(
    remaining: int, refilled_at: float, spec: Credits, cost: int, now: float, allowed: bool
) -> LimitResult:
    plan = spec.refill
    reset = None if plan is None else refilled_at + plan.interval_s
    retry = None
    if not allowed and plan is not None:
        if plan.mode == "set":
            if plan.amount >= cost:
                retry = refilled_at + plan.interval_s - now
        elif plan.cap is None or plan.cap >= cost:
            steps = math.ceil((cost - remaining) / plan.amount)
            retry = refilled_at + steps * plan.interval_s - now
    limit = spec.remaining
    return LimitResult("credits", "credits", limit, max(0, remaining), reset, retry, allowed)


def concurrency_result(
    expiries: Sequence[float], spec: Concurrency, now: float, allowed: bool
) -> LimitResult:
    """``expiries`` are the live leases' expiry times after the decision."""
    first = min(expiries) if expiries else now
    retry = first - now if not allowed else None
    remaining = max(0, spec.limit - len(expiries))
    return LimitResult("concurrency", "concurrency", spec.limit, remaining, first, retry, allowed)
