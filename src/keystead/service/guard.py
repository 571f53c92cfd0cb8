"""Brute-force protection: failed verifications per client IP.

MALFORMED and NOT_FOUND answers are what guessing looks like; each one from a
client IP spends a unit of that IP's ``failed_attempts`` rate limit in the
shared limiter (so all nodes count together). Once it is exhausted, the node
refuses every verification from that IP with RATE_LIMITED (reason
``failed_attempts``) until the limit refills, without looking keys up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from keystead.config import Settings
from keystead.core.models import Code
from keystead.core.verify import Verdict
from keystead.errors import LimiterUnavailable
from keystead.limits import Check, Limiter, RateLimit
from keystead.service import counters

_MAX_TRACKED = 100_000


@dataclass(slots=True, frozen=True)
class AttemptsState:
    ip: str
    failures_seen: int
    """Failures from this IP seen by this node since it started (bounded memory)."""
    blocked_until: float | None
    enabled: bool = True
    """Whether brute-force protection is on (``KEYSTEAD_FAILED_ATTEMPTS_LIMIT`` > 0)."""
    limit: int | None = None
    """Failures allowed per window; None when protection is off."""
    window_s: float | None = None
    """The window's length in seconds; None when protection is off."""
    remaining: int | None = None
    """What the limiter (shared by every node on Redis) has left of the IP's
    allowance; None when protection is off or the limiter cannot be reached."""
    reset: int | None = None
    """Epoch second (rounded up) when the allowance is whole again; None as ``remaining``."""


class FailedAttempts:
    def __init__(self, limiter: Limiter, settings: Settings) -> None:
        self._limiter = limiter
        self.enabled = settings.failed_attempts_limit > 0
        self._window = settings.failed_attempts_window_s
        self._spec = RateLimit(
            "failed_attempts", max(1, settings.failed_attempts_limit), self._window
        )
        self._blocked: dict[str, float] = {}
        self._seen: dict[str, int] = {}
        self.failures = 0
        self.refused = 0

    def blocks(self, ip: str) -> bool:
        """Whether ``ip`` is (or was until lately) blocked; reads only."""
        return ip in self._blocked

    def refusal(self, ip: str, now: float) -> Verdict | None:
        until = self._blocked.get(ip)
        if until is None:
            return None
        if until <= now:
            del self._blocked[ip]
            return None
        self.refused += 1
        return Verdict(Code.RATE_LIMITED, None, "failed_attempts", retry_after=until - now)

    async def record(self, ip: str, verdict: Verdict, now: float) -> Verdict:
        self.failures += 1
        if len(self._seen) >= _MAX_TRACKED:
            self._seen.clear()
        self._seen[ip] = self._seen.get(ip, 0) + 1
        try:
            decision = await self._limiter.decide(
                [Check(counters.failed_attempts(ip), self._spec, 1)], now
            )
        except LimiterUnavailable:
            return verdict
        if decision.allowed:
            return verdict
        wait = decision.retry_after if decision.retry_after is not None else self._window
        if len(self._blocked) >= _MAX_TRACKED:
            self._blocked = {k: v for k, v in self._blocked.items() if v > now}
        self._blocked[ip] = now + wait
        return Verdict(
            Code.RATE_LIMITED, None, "failed_attempts", decision.results, retry_after=wait
        )

    def state(self, ip: str, now: float) -> AttemptsState:
        """What this node saw of ``ip``: no limiter round trip (see ``peek``)."""
        until = self._blocked.get(ip)
        return AttemptsState(
            ip=ip,
            failures_seen=self._seen.get(ip, 0),
            blocked_until=until if until is not None and until > now else None,
            enabled=self.enabled,
            limit=self._spec.limit if self.enabled else None,
            window_s=self._window if self.enabled else None,
        )

    async def peek(self, ip: str, now: float) -> AttemptsState:
        """``state`` plus what the limiter has left of the IP's allowance, read
        without spending (cost 0). An unreachable limiter leaves it unknown."""
        state = self.state(ip, now)
        if not self.enabled:
            return state
        try:
            decision = await self._limiter.decide(
                [Check(counters.failed_attempts(ip), self._spec, 0)], now
            )
        except LimiterUnavailable:
            return state
        counter = decision.results[0]
        return replace(
            state,
            remaining=counter.remaining,
            reset=None if counter.reset is None else math.ceil(counter.reset),
        )
