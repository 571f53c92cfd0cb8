"""Each algorithm against a simple reference model, over random request
timings and costs, on both backends (fewer examples on Redis).

Every request runs through both the one-check path and the general path of
each backend. Times sit on a 1/64 s grid and intervals are powers of two, so every float
involved is exact and the models can use plain arithmetic."""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keystead.limits import (
    Check,
    Credits,
    Decision,
    Limiter,
    MemoryLimiter,
    Quota,
    RateLimit,
    Refill,
    open_limiter,
)

from ._support import NOW, backend_url, delete_namespace, redis_url
from .conftest import BACKENDS

Requests = list[tuple[float, int]]  # (seconds after NOW, cost)


def requests(max_step: int, max_cost: int) -> st.SearchStrategy[Requests]:
    step = st.integers(0, max_step).map(lambda n: n / 64)
    return st.lists(st.tuples(step, st.integers(0, max_cost)), min_size=1, max_size=40).map(
        lambda pairs: [(sum(s for s, _ in pairs[: i + 1]), c) for i, (_, c) in enumerate(pairs)]
    )


Decide = Callable[[Sequence[Check], float], Decision]


@dataclass
class Backend:
    decide: Decide
    examples: int
    prefix: str

    def key(self, kind: str) -> str:
        return f"{{{self.prefix}}}{kind}{secrets.token_hex(6)}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A synchronous face over each backend, so Hypothesis drives plain
    functions; the Redis one runs the async RedisLimiter in its own loop."""
    prefix = f"kst-prop-{secrets.token_hex(6)}"
    if request.param == "memory":
        yield Backend(MemoryLimiter().decide_now, 100, prefix)
        return
    with asyncio.Runner() as runner:
        limiter = runner.run(_open(backend_url(request.param)))
        try:
            yield Backend(lambda checks, now: runner.run(limiter.decide(checks, now)), 25, prefix)
        finally:
            runner.run(limiter.close())
            delete_namespace(redis_url(), prefix)


async def _open(url: str) -> Limiter:
    return open_limiter(url)


@dataclass
class TokenBucket:
    """GCRA's reference: a bucket of ``burst`` tokens, refilled continuously."""

    rate: Fraction  # tokens per second
    burst: int
    tokens: Fraction = Fraction(0)
    last: Fraction | None = None

    def take(self, t: Fraction, cost: int) -> tuple[bool, int]:
        if self.last is None:
            self.tokens = Fraction(self.burst)
        else:
            self.tokens = min(Fraction(self.burst), self.tokens + (t - self.last) * self.rate)
        self.last = t
        ok = cost == 0 or self.tokens >= cost
        if ok:
            self.tokens -= cost
        return ok, math.floor(self.tokens)


@dataclass
class Log:
    """The sliding window's reference: every admitted unit's time."""

    limit: int
    duration: float
    times: list[float] = field(default_factory=list)

    def take(self, t: float, cost: int) -> tuple[bool, int]:
        inside = sum(1 for a in self.times if a > t - self.duration)
        ok = cost == 0 or inside + cost <= self.limit
        if ok:
            self.times += [t] * cost
            inside += cost
        return ok, self.limit - inside


PAD = RateLimit("pad", 1, 1.0)


def run(
    backend: Backend,
    spec: RateLimit | Quota | Credits,
    reqs: Requests,
    model: Callable[[float, int], tuple[bool, int]],
) -> None:
    """Each request twice, on two counters: alone (the backends' one-check
    paths) and beside a cost-0 check that always passes (the general path);
    both must follow the model."""
    alone, padded, pad = backend.key(spec.kind), backend.key(spec.kind), backend.key("pad")
    for offset, cost in reqs:
        expected = model(offset, cost)
        one = backend.decide([Check(alone, spec, cost)], NOW + offset)
        two = backend.decide([Check(pad, PAD, 0), Check(padded, spec, cost)], NOW + offset)
        assert (one.allowed, one.results[0].remaining) == expected, (offset, cost)
        assert (two.allowed, two.results[1].remaining) == expected, (offset, cost)


def property_settings(backend: Backend) -> settings:
    return settings(max_examples=backend.examples, deadline=None)


def test_gcra_is_a_token_bucket(backend: Backend) -> None:
    @property_settings(backend)
    @given(
        reqs=requests(max_step=96, max_cost=4),
        limit_exp=st.integers(0, 4),
        duration_exp=st.integers(-1, 3),
        burst=st.integers(1, 8),
    )
    def check(reqs: Requests, limit_exp: int, duration_exp: int, burst: int) -> None:
        limit, duration = 2**limit_exp, 2.0**duration_exp
        bucket = TokenBucket(Fraction(limit) / Fraction(duration), burst)
        spec = RateLimit("p", limit, duration, burst=burst)
        run(backend, spec, reqs, lambda t, c: bucket.take(Fraction(t), c))

    check()


def test_sliding_window_is_a_log(backend: Backend) -> None:
    @property_settings(backend)
    @given(
        reqs=requests(max_step=64, max_cost=3),
        limit=st.integers(1, 8),
        duration_exp=st.integers(-2, 3),
    )
    def check(reqs: Requests, limit: int, duration_exp: int) -> None:
        spec = RateLimit("p", limit, 2.0**duration_exp, algorithm="sliding_window")
        run(backend, spec, reqs, Log(limit, 2.0**duration_exp).take)

    check()


def test_quota_counts_per_local_period(backend: Backend) -> None:
    offset = 3600  # periods start at 01:00 local: never inside a DST jump in these zones

    @property_settings(backend)
    @given(
        steps=st.lists(
            st.tuples(st.integers(0, 40 * 3600), st.integers(0, 3)), min_size=1, max_size=30
        ),
        limit=st.integers(0, 6),
        period=st.sampled_from(["day", "week", "month"]),
        zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
    )
    def check(steps: list[tuple[int, int]], limit: int, period: str, zone: str) -> None:
        spec = Quota(limit, period, zone, offset_s=offset)  # type: ignore[arg-type]
        used: dict[tuple[int, ...], int] = {}

        def model(t: float, cost: int) -> tuple[bool, int]:
            wall = datetime.fromtimestamp(NOW + t, ZoneInfo(zone)).replace(tzinfo=None)
            day = (wall - timedelta(seconds=offset)).date()
            ident = {
                "day": (day.toordinal(),),
                "week": (day.toordinal() - day.weekday(),),
                "month": (day.year, day.month),
            }[period]
            ok = cost == 0 or used.get(ident, 0) + cost <= limit
            if ok:
                used[ident] = used.get(ident, 0) + cost
            return ok, limit - used.get(ident, 0)

        reqs = [(float(sum(s for s, _ in steps[: i + 1])), c) for i, (_, c) in enumerate(steps)]
        run(backend, spec, reqs, model)

    check()


@dataclass
class Ledger:
    """Credits' reference: one refill per boundary passed, boundaries every
    interval after the counter's first decision."""

    balance: int
    amount: int
    interval: float
    mode: str
    cap: int | None
    next: float | None = None

    def take(self, t: float, cost: int) -> tuple[bool, int]:
        if self.next is None:
            self.next = t + self.interval
        while t >= self.next:
            b = self.balance
            if self.mode == "set":
                self.balance = max(b, self.amount)
            else:
                self.balance = (
                    b + self.amount if self.cap is None else min(b + self.amount, max(self.cap, b))
                )
            self.next += self.interval
        ok = cost == 0 or self.balance >= cost
        if ok:
            self.balance -= cost
        return ok, max(0, self.balance)


def test_credits_refill_like_a_ledger(backend: Backend) -> None:
    @property_settings(backend)
    @given(
        reqs=requests(max_step=256, max_cost=5),
        start=st.integers(0, 10),
        amount=st.integers(1, 6),
        interval_exp=st.integers(-1, 3),
        mode=st.sampled_from(["set", "add"]),
        cap=st.one_of(st.none(), st.integers(1, 12)),
    )
    def check(
        reqs: Requests, start: int, amount: int, interval_exp: int, mode: str, cap: int | None
    ) -> None:
        interval = 2.0**interval_exp
        cap = cap if mode == "add" else None
        spec = Credits(start, Refill(amount, interval, mode, cap))  # type: ignore[arg-type]
        run(backend, spec, reqs, Ledger(start, amount, interval, mode, cap).take)

    check()
