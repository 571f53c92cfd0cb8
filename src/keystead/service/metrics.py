"""What ``/metrics`` reports, counted cheaply where it happens.

Verification outcomes are plain integers bumped on the verify path (one dict
increment, no lock: the service runs on one event loop); the HTTP verify
route's latency goes into a fixed-bucket histogram. Everything else (buffer
depth, drops, limiter and store errors) is read from its owner at scrape time.
The Prometheus text is built by ``keystead.http.metrics``.
"""

from __future__ import annotations

from bisect import bisect_left

from keystead.core.models import Code

LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)


class LatencyHistogram:
    """Cumulative-at-scrape histogram with Prometheus' ``le`` semantics."""

    __slots__ = ("counts", "sum_s", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS_S) + 1)  # the last one is +Inf
        self.total = 0
        self.sum_s = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(LATENCY_BUCKETS_S, seconds)] += 1
        self.total += 1
        self.sum_s += seconds

    def cumulative(self) -> list[tuple[str, int]]:
        """(``le`` bound, observations at or below it), ending with ``+Inf``."""
        out, running = [], 0
        for bound, count in zip((*LATENCY_BUCKETS_S, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return out


class ServiceMetrics:
    __slots__ = ("outcomes", "verify_http")

    def __init__(self) -> None:
        self.outcomes: dict[Code, int] = dict.fromkeys(Code, 0)
        self.verify_http = LatencyHistogram()


__all__ = ["LATENCY_BUCKETS_S", "LatencyHistogram", "ServiceMetrics"]
