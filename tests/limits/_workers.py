"""Code the multi-process tests run in spawned children (importable by name)."""

from __future__ import annotations

import asyncio
from multiprocessing.synchronize import Event
from typing import Any

from keystead.limits import Check, Spec, open_limiter


def admit(url: str, key: str, spec: Spec, n: int, now: float, go: Event, out: Any) -> None:
    """Decide ``n`` times concurrently on one counter; put the admitted count
    (or the error, so the parent fails fast rather than waiting)."""
    try:
        out.put(asyncio.run(_admit(url, key, spec, n, now, go)))
    except Exception as error:
        out.put(repr(error))


async def _admit(url: str, key: str, spec: Spec, n: int, now: float, go: Event) -> int:
    limiter = open_limiter(url)
    try:
        await limiter.ping()
        await asyncio.to_thread(go.wait, 60)
        decisions = await asyncio.gather(
            *(limiter.decide([Check(key, spec)], now) for _ in range(n))
        )
        return sum(d.allowed for d in decisions)
    finally:
        await limiter.close()
