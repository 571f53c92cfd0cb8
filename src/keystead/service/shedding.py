"""Load-based throttling: when this node is overloaded, shed low tiers first.

Two signals, each off unless configured: requests in flight (faces call
``enter``/``leave``) against ``shed_max_inflight``, and event-loop lag
(sampled every 100 ms) against ``shed_max_lag_ms``. The overload ratio ``r`` is
the larger of signal / threshold. At ``r >= 1`` keys whose plan priority is
below a cutoff are refused with RATE_LIMITED + ``shed`` (HTTP 503 +
Retry-After); higher tiers keep their service:

    r < 1      nothing shed
    1 <= r     priority < 25 shed      (keys without a plan have priority 0)
    1.5 <= r   priority < 50 shed
    2 <= r     priority < 75 shed
    3 <= r     priority < 100 shed     (only priority 100 still served)
"""

from __future__ import annotations

import asyncio
import contextlib

from keystead.config import Settings

LEVELS = ((3.0, 100), (2.0, 75), (1.5, 50), (1.0, 25))
_SAMPLE_S = 0.1


class LoadShedder:
    def __init__(self, settings: Settings) -> None:
        self.max_inflight = settings.shed_max_inflight
        self.max_lag_ms = settings.shed_max_lag_ms
        self.enabled = self.max_inflight > 0 or self.max_lag_ms > 0
        self.inflight = 0
        self.lag_ms = 0.0
        self.shed_count = 0
        self.retry_after = 1.0
        self._sampler: asyncio.Task[None] | None = None

    def enter(self) -> None:
        self.inflight += 1

    def leave(self) -> None:
        self.inflight -= 1

    def overload(self) -> float:
        ratio = 0.0
        if self.max_inflight:
            ratio = self.inflight / self.max_inflight
        if self.max_lag_ms:
            ratio = max(ratio, self.lag_ms / self.max_lag_ms)
        return ratio

    def cutoff(self) -> int:
        """Priorities below this are shed now (0: nothing is)."""
        ratio = self.overload()
        for threshold, below in LEVELS:
            if ratio >= threshold:
                return below
        return 0

    def sheds(self, priority: int) -> bool:
        if priority < self.cutoff():
            self.shed_count += 1
            return True
        return False

    def start(self) -> None:
        """Sample event-loop lag in the background (when a lag threshold is set)."""
        if self.max_lag_ms and self._sampler is None:
            with contextlib.suppress(RuntimeError):
                self._sampler = asyncio.get_running_loop().create_task(self._sample())

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(_SAMPLE_S)
            late_ms = max(0.0, (loop.time() - started - _SAMPLE_S) * 1000)
            self.lag_ms = 0.7 * self.lag_ms + 0.3 * late_ms  # smoothed: one GC pause is no overload

    async def stop(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            self._sampler = None
