"""The server processes' garbage-collector setting."""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Move every object alive now (modules, the service, its caches) out of the
    collector's sight (``gc.freeze``), so that a full collection walks only what
    requests allocated since: without it, one every few thousand requests walks
    the whole heap and holds up the request that triggers it (tens of ms; the
    p99 of a usage series, docs/performance.md). Servers call it once started;
    a library caller decides for its own process. Once per process: objects
    frozen are never collected, so a process that starts several apps (tests)
    freezes only what the first one left."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


__all__ = ["freeze_startup_heap"]
