"""When keys leaked: the leak time the ``leaked_key_used`` alert rule and the
analytics' ``after_leak`` filter compare uses with.

A key's leak time is when its plaintext was first exposed, as the reporter
said (``exposed_at``), else when the leak was reported: a use from then on
may be someone else's.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from keystead.store.base import Store
from keystead.store.custody import Scope
from keystead.store.leaks import LeakRecord

FEW_KEYS = 20
"""Up to this many keys are looked up one by one; past it, the workspace's
leaks are read page by page (a workspace has few leaks, a window many keys)."""
PAGE = 1000
MAX_LEAKS = 100_000


def leak_time(leak: LeakRecord) -> datetime:
    return leak.exposed_at if leak.exposed_at is not None else leak.reported_at


async def leaked_at(store: Store, workspace_id: str, key_id: str) -> datetime | None:
    """The key's leak time, or None if no leak of it was reported."""
    leak = await store.leak_of(workspace_id, key_id)
    return None if leak is None else leak_time(leak)


async def leak_times(store: Store, workspace_id: str, key_ids: Collection[str]) -> dict[str, float]:
    """Epoch leak times of those of ``key_ids`` that leaked."""
    wanted = set(key_ids)
    found: dict[str, float] = {}
    if len(wanted) <= FEW_KEYS:
        for key_id in sorted(wanted):
            at = await leaked_at(store, workspace_id, key_id)
            if at is not None:
                found[key_id] = at.timestamp()
        return found
    after: str | None = None
    for _ in range(MAX_LEAKS // PAGE):
        page = await store.list_leaks(workspace_id, Scope(), key_id=None, after=after, limit=PAGE)
        for leak in page:
            if leak.key_id in wanted:
                found[leak.key_id] = leak_time(leak).timestamp()
        if len(page) < PAGE:
            break
        after = page[-1].id
    return found


__all__ = ["FEW_KEYS", "MAX_LEAKS", "leak_time", "leak_times", "leaked_at"]
