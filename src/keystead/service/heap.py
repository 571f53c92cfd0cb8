"""The server processes' garbage-collector settings: ``keystead._heap``, where the
usage writer process (``keystead.events``, below the service) reaches them too."""

from __future__ import annotations

from keystead._heap import CPYTHON_THRESHOLDS, YOUNG_THRESHOLD, freeze_startup_heap

__all__ = ["CPYTHON_THRESHOLDS", "YOUNG_THRESHOLD", "freeze_startup_heap"]
