"""``memory://``: every counter in this process's dicts.

Exact for one process: a decision runs start to finish under a lock with no
await inside, so asyncio tasks and threads see decisions one at a time.
Counters vanish when they no longer matter (an amortised sweep); credits are
kept until cleared. ``decide_now`` is the synchronous fast path; the async
methods of the :class:`~keystead.limits.Limiter` protocol wrap it.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from time import time as _time
from typing import Any

from keystead.limits import engine
from keystead.limits._calendar import period_bounds
from keystead.limits.decision import (
    ALLOWED_EMPTY,
    Check,
    Decision,
    Lease,
    LimitResult,
    QuotaUsage,
    check_keys,
    refused,
)
from keystead.limits.specs import Credits, Quota, RateLimit

_new_tuple = tuple.__new__
_EPS = engine.EPS
_SWEEP_MIN = 4096


def _quota_state(state: list[Any] | None) -> tuple[float | None, int]:
    return (None, 0) if state is None else (state[0], state[1])


class MemoryLimiter:
    """All counters in memory; ``memory://`` takes no options."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._logs: dict[str, deque[float]] = {}
        self._quota: dict[str, list[Any]] = {}  # [period_start, used, period_end]
        self._credits: dict[str, list[Any]] = {}  # [remaining, refilled_at]
        self._leases: dict[str, dict[str, float]] = {}
        self._ids = itertools.count(1)
        self._ops = 0
        self._next_sweep = _SWEEP_MIN

    @classmethod
    def from_url(cls, url: str) -> MemoryLimiter:
        return cls()

    # -- deciding ---------------------------------------------------------
    def decide_now(self, checks: Sequence[Check], now: float | None = None) -> Decision:
        """Decide synchronously. The one-GCRA-limit case takes a short path."""
        if now is None:
            now = _time()
        if len(checks) == 1:
            key, spec, cost = checks[0]
            if type(spec) is RateLimit and spec.algorithm == "gcra" and type(cost) is int:
                if cost >= 0:
                    return self._one_gcra(key, spec, cost, now)
        elif not checks:
            return ALLOWED_EMPTY
        check_keys(checks)
        with self._lock:
            self._ops += 1
            if self._ops >= self._next_sweep:
                self._sweep(now)
            pending = [self._evaluate(check, now) for check in checks]
            pairs = list(zip(checks, pending, strict=True))
            if all(p[0] for p in pending):
                leases = tuple(self._commit(c, p, now) for c, p in pairs)
                results = tuple(self._result(c, p, now, True, True) for c, p in pairs)
                return Decision(True, None, results, tuple(x for x in leases if x))
            return refused(tuple(self._result(c, p, now, False, p[0]) for c, p in pairs))

    def _one_gcra(self, key: str, spec: RateLimit, cost: int, now: float) -> Decision:
        result = self.gcra_one(key, spec, cost, now)
        if result.allowed:
            return Decision(True, None, (result,))
        return refused((result,))

    def gcra_one(self, key: str, spec: RateLimit, cost: int, now: float) -> LimitResult:
        """One GCRA limit, decided and described without a Decision around it:
        the verify path's most common case (``cost`` must be an int >= 0)."""
        tats = self._tat
        interval, tol = spec._interval, spec._tolerance
        with self._lock:
            ops = self._ops = self._ops + 1
            if ops >= self._next_sweep:
                self._sweep(now)
            tat = tats.get(key, now)
            if tat < now:
                tat = now
            new = tat + cost * interval
            if new - now <= tol + _EPS or cost == 0:
                tats[key] = new
                left = int((tol - (new - now) + _EPS) / interval)
                burst = spec._burst
                if left > burst:
                    left = burst
                elif left < 0:
                    left = 0
                # tuple.__new__ skips the named tuple's Python-level __new__
                return _new_tuple(
                    LimitResult, (spec.name, "rate_limit", spec.limit, left, new, None, True)
                )
        return engine.gcra_result(tat, spec, cost, now, False)

    def _evaluate(self, check: Check, now: float) -> tuple[bool, Any]:
        """Phase one: would this check pass? Only drops what has expired."""
        key, spec, cost = check
        if isinstance(spec, RateLimit):
            if spec.algorithm == "gcra":
                return engine.gcra(self._tat.get(key, now), spec, cost, now)
            log = self._logs.get(key)
            if log is None:
                log = self._logs[key] = deque()
            while log and log[0] <= now:
                log.popleft()
            return (cost == 0 or len(log) + cost <= spec.limit, log)
        if isinstance(spec, Quota):
            start, end = period_bounds(spec, now)
            state = self._quota.get(key)
            period, used = engine.quota_used(*_quota_state(state), start)
            return (cost == 0 or used + cost <= spec.limit, [period, used, end])
        if isinstance(spec, Credits):
            state = self._credits.get(key)
            left, at = (spec.remaining, now) if state is None else state
            # the balance is written even if the decision fails: creating a
            # counter (its refill clock starts now) or refilling spends nothing
            state = self._credits[key] = list(engine.refill(left, at, spec, now))
            return (cost == 0 or state[0] >= cost, state)
        held = self._leases.get(key)
        if held is None:
            held = self._leases[key] = {}
        for lease_id in [i for i, expiry in held.items() if expiry <= now]:
            del held[lease_id]
        return (cost == 0 or len(held) < spec.limit, held)

    def _commit(self, check: Check, pending: tuple[bool, Any], now: float) -> Lease | None:
        key, spec, cost = check
        state = pending[1]
        if isinstance(spec, RateLimit):
            if spec.algorithm == "gcra":
                self._tat[key] = state
            elif cost:
                expiry = now + spec.duration_s
                state.extend([max(expiry, state[-1]) if state else expiry] * cost)
        elif isinstance(spec, Quota):
            state[1] += cost
            self._quota[key] = state
        elif isinstance(spec, Credits):
            state[0] -= cost
        elif cost:
            lease = f"m{next(self._ids)}"
            state[lease] = now + spec.lease_s
            return Lease(key, lease)
        return None

    def _result(
        self, check: Check, pending: tuple[bool, Any], now: float, spent: bool, ok: bool
    ) -> LimitResult:
        key, spec, cost = check
        state = pending[1]
        if isinstance(spec, RateLimit):
            if spec.algorithm == "gcra":
                tat = state if spent else self._tat.get(key, now)
                return engine.gcra_result(tat, spec, cost, now, ok)
            return engine.window_result(state, spec, cost, now, ok)
        if isinstance(spec, Quota):
            return engine.quota_result(state[1], spec, state[2], cost, now, ok)
        if isinstance(spec, Credits):
            return engine.credits_result(state[0], state[1], spec, cost, now, ok)
        return engine.concurrency_result(list(state.values()), spec, now, ok)

    def _sweep(self, now: float) -> None:
        """Forget counters that are back to their empty state (in place: the
        fast path holds a reference to ``_tat``)."""
        for table, gone in (
            (self._tat, [k for k, t in self._tat.items() if t <= now]),
            (self._logs, [k for k, log in self._logs.items() if not log or log[-1] <= now]),
            (self._quota, [k for k, q in self._quota.items() if q[2] <= now]),
        ):
            for key in gone:
                del table[key]
        for held in self._leases.values():
            for lease_id in [i for i, expiry in held.items() if expiry <= now]:
                del held[lease_id]
        for key in [k for k, held in self._leases.items() if not held]:
            del self._leases[key]
        size = len(self._tat) + len(self._logs) + len(self._quota) + len(self._leases)
        self._next_sweep = self._ops + max(_SWEEP_MIN, 2 * size)

    # -- the Limiter protocol -------------------------------------------------
    async def decide(self, checks: Sequence[Check], now: float | None = None) -> Decision:
        return self.decide_now(checks, now)

    async def release(self, leases: Iterable[Lease]) -> None:
        with self._lock:
            for key, lease_id in leases:
                held = self._leases.get(key)
                if held is not None:
                    held.pop(lease_id, None)

    async def get_credits(
        self, key: str, spec: Credits | None = None, now: float | None = None
    ) -> int | None:
        with self._lock:
            state = self._credits.get(key)
        if state is None:
            return None
        if spec is None:
            return int(state[0])
        return engine.refill(state[0], state[1], spec, _time() if now is None else now)[0]

    async def set_credits(self, key: str, remaining: int, now: float | None = None) -> None:
        with self._lock:
            state = self._credits.get(key)
            at = (_time() if now is None else now) if state is None else state[1]
            self._credits[key] = [int(remaining), at]

    async def adjust_credits(self, key: str, delta: int) -> int | None:
        with self._lock:
            state = self._credits.get(key)
            if state is None:
                return None
            state[0] += int(delta)
            return int(state[0])

    async def quota_usage(self, key: str, spec: Quota, now: float | None = None) -> QuotaUsage:
        now = _time() if now is None else now
        start, end = period_bounds(spec, now)
        with self._lock:
            state = self._quota.get(key)
        period, used = engine.quota_used(*_quota_state(state), start)
        return QuotaUsage(used, spec.limit, period, end)

    async def clear(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                for table in (self._tat, self._logs, self._quota, self._credits, self._leases):
                    table.pop(key, None)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
