"""The server processes' garbage-collector settings (``keystead serve``, the gateway,
the embedded middleware, and the usage writer process: ``keystead.service.heap``
names them for the faces)."""

from __future__ import annotations

import gc

CPYTHON_THRESHOLDS = (700, 10, 10)
"""What ``gc.get_threshold()`` answers until something changes it."""
YOUNG_THRESHOLD = 10_000
"""Allocations between two collections of the youngest generation, once tuned."""


def freeze_startup_heap(*, tune: bool = True) -> None:
    """Move every object alive now (modules, the service, its caches) out of the
    collector's sight (``gc.freeze``), so that a full collection walks only what
    requests allocated since: without it, one every few thousand requests walks
    the whole heap and holds up the request that triggers it (tens of ms; the
    p99 of a usage series, docs/performance.md). Servers call it once started;
    a library caller decides for its own process. Once per process: objects
    frozen are never collected, so a process that starts several apps (tests)
    freezes only what the first one left.

    ``tune`` (``KEYSTEAD_GC_TUNING``) also raises the youngest generation's
    threshold from 700 to ``YOUNG_THRESHOLD`` allocations, only while the
    process still has CPython's default thresholds (an app's own setting
    stays). With dozens of requests in flight, a collection every 700
    allocations finds each in-flight request's objects still alive and moves
    them to the older generations, whose collections then cost more: 4.9 us
    of the 66.1 a protected Starlette endpoint spent per request untuned
    (docs/performance.md, "Integrations")."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
    if tune and gc.get_threshold() == CPYTHON_THRESHOLDS:
        _, middle, old = CPYTHON_THRESHOLDS
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)


__all__ = ["CPYTHON_THRESHOLDS", "YOUNG_THRESHOLD", "freeze_startup_heap"]
