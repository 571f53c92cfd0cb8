"""A server freezes its start-up heap once per process."""

from __future__ import annotations

import subprocess
import sys


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
