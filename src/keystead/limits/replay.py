"""Replay one counter owner's requests against a limit set, offline.

The same decisions ``MemoryLimiter.decide`` makes for a sequence of cost-1
checks on fresh counters, with the same arithmetic (``engine``, the calendar
of ``_calendar``), without building a ``Decision`` per request: a what-if
replays millions of recorded requests. tests/limits/test_replay.py holds it
to ``MemoryLimiter`` on random sequences.

All or nothing, as a verification: a request is allowed only if every limit
allows it, and only then does it spend on each. Credits refill even when a
request is refused (as the limiter writes the refilled balance).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from keystead.limits import engine
from keystead.limits._calendar import period_bounds
from keystead.limits.specs import Credits, Quota, RateLimit

_EPS = engine.EPS


class Replay:
    """Fresh counters for ``ratelimits``, ``quota`` and ``credits``; feed it
    request times in ascending order with ``allow``."""

    __slots__ = ("_credits", "_gcra", "_logs", "_quota", "_quota_state", "_windows")

    def __init__(
        self,
        ratelimits: Sequence[RateLimit] = (),
        quota: Quota | None = None,
        credits: Credits | None = None,
    ) -> None:
        # per GCRA limit: [tat, interval, tolerance]; per window: (limit, duration)
        self._gcra: list[list[float]] = [
            [-1e300, r._interval, r._tolerance] for r in ratelimits if r.algorithm == "gcra"
        ]
        self._windows = [
            (r.limit, r.duration_s) for r in ratelimits if r.algorithm == "sliding_window"
        ]
        self._logs: list[deque[float]] = [deque() for _ in self._windows]
        self._quota = quota
        self._quota_state: list[float] = [0.0, 0.0, -1.0]  # start, end, used
        self._credits: list[Any] | None = (
            None if credits is None else [credits, credits.remaining, None]
        )

    def allow(self, now: float) -> bool:
        """Decide one request at ``now`` (epoch seconds), spending if allowed."""
        ok = True
        news = []
        for state in self._gcra:
            tat = state[0] if state[0] > now else now
            new = tat + state[1]
            news.append(new)
            if new - now > state[2] + _EPS:
                ok = False
        for (limit, _), log in zip(self._windows, self._logs, strict=True):
            while log and log[0] <= now:
                log.popleft()
            if len(log) + 1 > limit:
                ok = False
        quota = self._quota
        if quota is not None:
            q = self._quota_state
            if not q[0] <= now < q[1]:
                start, end = period_bounds(quota, now)
                if q[2] < 0 or q[0] < start:  # a newer period: its count starts at 0
                    q[0], q[1], q[2] = start, end, 0.0
            if q[2] + 1 > quota.limit:
                ok = False
        held = self._credits
        if held is not None:
            spec: Credits = held[0]
            at = now if held[2] is None else held[2]
            held[1], held[2] = engine.refill(held[1], at, spec, now)
            if held[1] < 1:
                ok = False
        if not ok:
            return False
        for state, new in zip(self._gcra, news, strict=True):
            state[0] = new
        for (_, duration), log in zip(self._windows, self._logs, strict=True):
            expiry = now + duration
            log.append(max(expiry, log[-1]) if log else expiry)
        if quota is not None:
            self._quota_state[2] += 1
        if held is not None:
            held[1] -= 1
        return True

    def refused(self, times: Iterable[float]) -> list[float]:
        """Feed every time (ascending); the times that would have been refused.
        A lone GCRA limit or a lone quota takes a loop of its own (the same steps)."""
        if len(self._gcra) == 1 and not self._windows and self._quota is None:
            if self._credits is None:
                return self._gcra_only(times)
        if self._quota is not None and not self._gcra and not self._windows:
            if self._credits is None:
                return self._quota_only(self._quota, times)
        allow = self.allow
        return [t for t in times if not allow(t)]

    def _gcra_only(self, times: Iterable[float]) -> list[float]:
        state = self._gcra[0]
        tat, interval, ceiling = state[0], state[1], state[2] + _EPS
        out = []
        for now in times:
            new = (tat if tat > now else now) + interval
            if new - now > ceiling:
                out.append(now)
            else:
                tat = new
        state[0] = tat
        return out

    def _quota_only(self, quota: Quota, times: Iterable[float]) -> list[float]:
        q = self._quota_state
        start, end, used, limit = q[0], q[1], q[2], quota.limit
        out = []
        for now in times:
            if not start <= now < end:
                first, end = period_bounds(quota, now)
                if used < 0 or start < first:
                    start, used = first, 0.0
            if used + 1 > limit:
                out.append(now)
            else:
                used += 1
        q[0], q[1], q[2] = start, end, used
        return out


__all__ = ["Replay"]
