"""The exposure bench's data is what docs/performance.md says it is, and the
bench's own check passes on a small SQLite run (so its timings time a real
analysis of the records written)."""

from __future__ import annotations

import importlib
import sys
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
bench = importlib.import_module("leak_exposure")


def test_the_busy_key_s_records_fall_either_side_of_its_leak() -> None:
    keys = ["busy", "fresh", "never", *(f"other{i}" for i in range(100))]
    rows = bench.records("ws", "api", keys, bench.FULL)

    before = Counter(r.key_id for r in rows if r.at < bench.LEAK)
    after = Counter(r.key_id for r in rows if r.at >= bench.LEAK)
    assert (before["busy"], after["busy"]) == (50_000, 25_000)
    assert (before["fresh"], after["fresh"]) == (0, 200)
    assert before["never"] + after["never"] == 0
    others = {k for k in before | after if k.startswith("other")}
    assert len(others) == 100
    assert sum(n for k, n in (before + after).items() if k in others) == 20_000
    assert min(r.at for r in rows) >= bench.LEAK - 30 * bench.DAY
    assert max(r.at for r in rows) < bench.NOW
    assert [r.at for r in rows] == sorted(r.at for r in rows)


async def test_a_small_run_on_sqlite_checks_and_times_the_three_keys() -> None:
    small = bench.Counts(300, 150, 20, 200, other_keys=5)

    result = await bench.measure("SQLite", "", small)

    assert result["records"] == 670
    assert {k: len(v) for k, v in result["timings"].items()} == {
        "busy": 7,
        "fresh": 7,
        "never used": 7,
    }
