"""The one interface every backend offers, and the URI registry that picks one.

``open_limiter("memory://")`` or ``open_limiter("redis://host:6379/0")``;
a backend module is imported only when its scheme is asked for, so
``import keystead.limits`` never needs the ``redis`` driver.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from keystead.errors import ConfigurationError
from keystead.limits.decision import Check, Decision, Lease, QuotaUsage
from keystead.limits.specs import Credits, Quota


@runtime_checkable
class Limiter(Protocol):
    """Counters behind one backend. Every method may raise
    :class:`~keystead.errors.LimiterUnavailable` when the backend fails."""

    async def decide(self, checks: Sequence[Check], now: float | None = None) -> Decision:
        """Decide all ``checks`` at once: spend on every counter or on none.
        ``now=None`` takes the backend's clock (Redis ``TIME`` on Redis)."""
        ...

    async def release(self, leases: Iterable[Lease]) -> None:
        """Give concurrency slots back; unknown or expired leases are ignored."""
        ...

    async def get_credits(
        self, key: str, spec: Credits | None = None, now: float | None = None
    ) -> int | None:
        """The stored balance (None: never used); with ``spec``, including
        refills due by ``now`` (not written back)."""
        ...

    async def set_credits(self, key: str, remaining: int, now: float | None = None) -> None:
        """Overwrite the balance; a new counter's refill clock starts at ``now``."""
        ...

    async def adjust_credits(self, key: str, delta: int) -> int | None:
        """Add ``delta`` (may be negative) atomically; the new balance, or
        None (nothing changed) when the counter does not exist yet."""
        ...

    async def quota_usage(self, key: str, spec: Quota, now: float | None = None) -> QuotaUsage:
        """Units used in the period holding ``now``."""
        ...

    async def clear(self, keys: Iterable[str]) -> None:
        """Forget these counters (a deleted key, a reset quota...)."""
        ...

    async def ping(self) -> None:
        """Raise LimiterUnavailable unless the backend answers."""
        ...

    async def close(self) -> None: ...


BACKENDS: dict[str, str] = {
    "memory": "keystead.limits.memory:MemoryLimiter",
    "redis": "keystead.limits.redis:RedisLimiter",
    "rediss": "keystead.limits.redis:RedisLimiter",
    "redis+cluster": "keystead.limits.redis:RedisLimiter",
    "rediss+cluster": "keystead.limits.redis:RedisLimiter",
}
"""URI scheme -> "module:class" of the backend serving it."""

PER_PROCESS: frozenset[str] = frozenset({"memory"})
"""Schemes whose counters live in the process that opened them: exact for one
process, counted apart by each of several (workers, nodes)."""


def per_process(url: str) -> bool:
    """Whether the limiter at ``url`` counts in this process alone."""
    return urlsplit(url).scheme.lower() in PER_PROCESS


def open_limiter(url: str = "memory://") -> Limiter:
    """The backend named by ``url``'s scheme; see :data:`BACKENDS`."""
    scheme = urlsplit(url).scheme.lower()
    target = BACKENDS.get(scheme)
    if target is None:
        known = ", ".join(f"{name}://" for name in sorted(BACKENDS))
        raise ConfigurationError(f"unknown limiter backend {scheme or url!r}; use one of {known}")
    module_name, _, class_name = target.partition(":")
    backend = getattr(importlib.import_module(module_name), class_name)
    limiter: Limiter = backend.from_url(url)
    return limiter
