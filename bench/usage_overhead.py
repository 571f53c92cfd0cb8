"""What usage recording costs verify throughput, in one run.

The same cached key (IP restriction + permission query, a client IP and user
agent) verified in-process by three services on one SQLite file, in alternating
rounds, yielding to the event loop every 256 verifications as a server would:

* off: ``usage_enabled=False``;
* hot path: recording on, the flusher idle and the buffer emptied (not
  written) at every yield, as a flusher keeps it short: the cost of appending
  one entry per verification;
* sustained: recording on with the default settings (batch 1000, 1 s; a
  buffer that holds a whole round, so nothing is dropped), the
  timed span ending after ``flush()``: rows and rollups written included;
* writer process: as sustained, with ``usage_writer="process"`` (what
  ``keystead serve`` runs), the child pinned to core 1: the serving process
  flattens each entry and sends the batch; the child writes it. Its req/s is
  bounded by how fast the child commits (the span waits for the last batch);
  "serving CPU/verify" is this process's CPU time per verification (all its
  threads, so the SQLite driver's too for the others), what bounds a server
  with a core to spare for the writer.

Target: recording cuts throughput by at most 10%.

Run: .venv/bin/python bench/usage_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import fmt_rate, median, move_to_core, pin_to_core, print_machine, print_table

from keystead.config import Settings
from keystead.core.models import VerifyContext
from keystead.events.usage.writer import ProcessWriter
from keystead.service import Keystead

CONTEXT = VerifyContext(
    ip="10.1.2.3", user_agent="bench/1.0", permissions="documents.read AND NOT admin.*"
)
RESTRICTIONS = {"ips": {"allow": ["10.0.0.0/8", "192.168.0.0/16"]}}


CPU: dict[int, list[float]] = {}
"""Per service (id), this process's CPU seconds per verification of each round
(all its threads: the SQLite driver's too; not the writer process)."""


async def rate(ks: Keystead, key: str, n: int, *, flush: bool, discard: bool = False) -> float:
    verify = ks.verify
    buffer = ks.usage.recorder.buffer
    cpu = time.process_time()
    start = time.perf_counter()
    for i in range(n):
        await verify(key, CONTEXT)
        if i & 255 == 0:
            if discard:
                buffer.clear()
            await asyncio.sleep(0)
    if flush:
        await ks.usage.flush()
    elapsed = time.perf_counter() - start
    CPU.setdefault(id(ks), []).append((time.process_time() - cpu) / n)
    return n / elapsed


async def main(quick: bool) -> None:
    pinned = pin_to_core(0)
    directory = Path(tempfile.mkdtemp(prefix="ks-bench-"))
    n, rounds = (50_000, 3) if quick else (200_000, 7)
    base: dict[str, Any] = {
        "_env_file": None,
        "database_url": f"sqlite:///{directory / 'bench.db'}",
        "secret": secrets.token_hex(32),
        "secret_file": directory / "secret",
        "limits_url": "memory://",
    }
    off = await Keystead.open(settings=Settings(**base, usage_enabled=False))
    big = {"usage_buffer_size": 2 * n, "usage_batch_size": 2 * n, "usage_flush_interval_s": 3600}
    hot = await Keystead.open(settings=Settings(**base, **big))
    room = {"usage_buffer_size": 2 * n}  # defaults otherwise; nothing dropped
    sustained = await Keystead.open(settings=Settings(**base, **room))
    process = await Keystead.open(settings=Settings(**base, **room, usage_writer="process"))
    try:
        admin = await off.workspaces.local_operator()
        api = await off.apis.create(admin, name="bench")
        created = await off.keys.create(
            admin, api_id=api.id, permissions=["documents.read"], restrictions=RESTRICTIONS
        )
        key = created.plaintext
        for ks in (off, hot, sustained, process):
            assert (await ks.verify(key, CONTEXT)).valid
            await ks.usage.flush()
        writer = process.usage.recorder.writer
        assert isinstance(writer, ProcessWriter) and writer.pid is not None
        move_to_core(writer.pid, 1)
        results: dict[str, list[float]] = {"off": [], "hot": [], "sustained": [], "process": []}
        for _ in range(rounds):
            results["off"].append(await rate(off, key, n, flush=False))
            results["hot"].append(await rate(hot, key, n, flush=False, discard=True))
            results["sustained"].append(await rate(sustained, key, n, flush=True))
            results["process"].append(await rate(process, key, n, flush=True))
        recorders = [ks.usage.recorder for ks in (hot, sustained, process)]
        dropped = sum(r.dropped for r in recorders)
        written = sum(r.written for r in recorders)
    finally:
        for ks in (off, hot, sustained, process):
            await ks.close()
    print_machine()
    print(f"  pinned to core 0: {pinned}; {rounds} alternating rounds of {n} verifications")
    print(f"  records written: {written}, dropped: {dropped}")
    base_median = median(results["off"])
    services = {"off": off, "hot": hot, "sustained": sustained, "process": process}
    base_cpu = median(CPU[id(off)])
    rows = [("variant", "best /s", "median /s", "kept", "serving CPU/verify", "kept (CPU)")]
    for name, label in (
        ("off", "recording off"),
        ("hot", "recording on: hot path (append)"),
        ("sustained", "recording on: sustained (writes incl.)"),
        ("process", "recording on: writer process (writes incl.)"),
    ):
        values = results[name]
        rows.append(
            (
                label,
                fmt_rate(max(values)),
                fmt_rate(median(values)),
                f"{median(values) / base_median:.0%}",
                f"{median(CPU[id(services[name])]) * 1e6:.2f} us",
                f"{base_cpu / median(CPU[id(services[name])]):.0%}",
            )
        )
    print_table("in-process verify with usage recording, SQLite (target: kept >= 90%)", rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    asyncio.run(main(parser.parse_args().quick))
