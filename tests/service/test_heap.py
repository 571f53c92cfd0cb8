"""A server freezes its start-up heap once per process and, unless told not to,
raises the young generation's collection threshold."""

from __future__ import annotations

import gc
import subprocess
import sys

from keystead.config import Settings
from keystead.integrations.embedded import Embedded
from keystead.service.heap import CPYTHON_THRESHOLDS, YOUNG_THRESHOLD


def test_a_server_freezes_its_start_up_heap_once() -> None:
    code = (
        "import gc\n"
        "from keystead.service.heap import freeze_startup_heap\n"
        "assert gc.get_freeze_count() == 0\n"
        "freeze_startup_heap(); first = gc.get_freeze_count()\n"
        "kept = [[i] for i in range(1000)]\n"
        "freeze_startup_heap()\n"
        "print(first > 0, gc.get_freeze_count() == first)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


def _thresholds_after(setup: str, call: str) -> tuple[int, ...]:
    code = (
        "import gc\n"
        "from keystead.service.heap import freeze_startup_heap\n"
        f"{setup}\n"
        f"{call}\n"
        "print(*gc.get_threshold())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return tuple(int(n) for n in out.stdout.split())


def test_the_young_generation_threshold_is_raised_unless_the_app_chose_its_own() -> None:
    assert _thresholds_after("", "freeze_startup_heap()") == (YOUNG_THRESHOLD, 10, 10)
    assert _thresholds_after("", "freeze_startup_heap(tune=False)") == CPYTHON_THRESHOLDS
    own = "gc.set_threshold(2000, 20, 5)"
    assert _thresholds_after(own, "freeze_startup_heap()") == (2000, 20, 5)


async def test_an_embedded_guard_tunes_as_its_settings_say(settings: Settings) -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(*CPYTHON_THRESHOLDS)
        guard = Embedded(settings=settings.model_copy(update={"gc_tuning": False}))
        await guard.service()
        assert gc.get_threshold() == CPYTHON_THRESHOLDS
        await guard.close()
        guard = Embedded(settings=settings)
        await guard.service()
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
        await guard.close()
    finally:
        gc.set_threshold(*before)
