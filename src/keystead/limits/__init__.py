"""Rate limits, quotas, credits and concurrency: the limits engine.

One call decides a whole verification, all or nothing::

    limiter = open_limiter("redis://127.0.0.1:6379/0")   # or "memory://"
    decision = await limiter.decide(
        [Check("{o1}k:key1:rl:burst", RateLimit("burst", 10, 1.0)),
         Check("{o1}o:o1:q", Quota(10_000, "month"))],
        now=clock.now(),
    )

Pure of the service: imports only :mod:`keystead.errors` and the standard
library (and the ``redis`` driver, lazily, in the Redis backend).
Semantics, formulas and costs: docs/limits.md.
"""

from __future__ import annotations

from keystead.limits.base import BACKENDS, Limiter, open_limiter
from keystead.limits.decision import (
    Check,
    Code,
    Decision,
    FailurePolicy,
    Lease,
    LimitResult,
    QuotaUsage,
)
from keystead.limits.memory import MemoryLimiter
from keystead.limits.specs import Concurrency, Credits, Quota, RateLimit, Refill, Spec

__all__ = [
    "BACKENDS",
    "Check",
    "Code",
    "Concurrency",
    "Credits",
    "Decision",
    "FailurePolicy",
    "Lease",
    "LimitResult",
    "Limiter",
    "MemoryLimiter",
    "Quota",
    "QuotaUsage",
    "RateLimit",
    "Refill",
    "Spec",
    "open_limiter",
]
