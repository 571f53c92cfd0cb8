"""Where a protected Starlette request's CPU goes, in-process: ASGI calls without a
server or socket, the apps of bench/middleware_http.py.

    .venv/bin/python bench/middleware_inprocess.py            # about 1 min
    .venv/bin/python bench/middleware_inprocess.py --quick    # about 15 s

Per request, ``time.process_time`` (every thread of the process, so the SQLite
driver's thread too), the best of three alternating passes, pinned to core 0:
bare Starlette; a middleware adding two fixed headers; ``KeysteadMiddleware``
with a guard answering a fixed check (the plumbing); with ``Embedded()`` on its
defaults, usage records buffered but not written. Then the inline usage writer's
cost per record, for batches of 1,000 of those records: turning entries into
records, summarising them into rollups, and the store's ``write_usage`` (SQLite,
the rows and the rollups).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import fmt_us, machine_rows, pin_to_core, print_table
from _serving import bootstrap_store
from _token_middleware import Call, asgi_get
from http_verify import SERVER_CORE

APPS = {
    "bare": "starlette_bare",
    "two fixed headers": "starlette_headers_only",
    "KeysteadMiddleware, a fixed check": "starlette_fixed_check",
    "KeysteadMiddleware, Embedded(), usage buffered": "starlette_protected",
}


async def per_request(call: Call, key: str, n: int) -> float:
    started = time.process_time()
    for _ in range(n):
        await call(key)
    return (time.process_time() - started) / n


def guard_of(app: Any) -> Any:
    """The ``Embedded`` guard of a built Starlette app's ``KeysteadMiddleware``."""
    layer = app.middleware_stack
    while not hasattr(layer, "guard"):
        layer = layer.app
    return layer.guard


async def measure(n: int, batches: int) -> tuple[dict[str, float], dict[str, float]]:
    import middleware_app

    from keystead.events.usage._rollup import entries, summarise, to_record

    with tempfile.TemporaryDirectory(prefix="ks-middleware-inprocess-") as tmp:
        env, key = await bootstrap_store(Path(tmp))
        env.pop("KEYSTEAD_LOG_LEVEL")
        os.environ.update(env)
        built = {label: getattr(middleware_app, name)() for label, name in APPS.items()}
        calls = {label: asgi_get(app) for label, app in built.items()}
        protected = built["KeysteadMiddleware, Embedded(), usage buffered"]
        await calls["KeysteadMiddleware, Embedded(), usage buffered"](key)  # opens the service
        ks = guard_of(protected)._ks
        recorder = ks.usage.recorder
        recorder._closed = True  # the flusher stops: records wait in the buffer
        best: dict[str, float] = {}
        for _ in range(3):
            for label, call in calls.items():
                best[label] = min(best.get(label, 1.0), await per_request(call, key, n))
                recorder.buffer.clear()
        parts = {"entries into records": 0.0, "rollups": 0.0, "store write_usage": 0.0}
        written = 0
        store = recorder.writer._store  # the inline writer's store
        for _ in range(batches):
            await per_request(calls["KeysteadMiddleware, Embedded(), usage buffered"], key, 1000)
            batch = list(recorder.buffer)
            recorder.buffer.clear()
            t0 = time.process_time()
            records = [to_record(entry, None) for entry in entries(batch)]
            t1 = time.process_time()
            rollups = summarise(records)
            t2 = time.process_time()
            await store.write_usage(records, rollups)
            t3 = time.process_time()
            parts["entries into records"] += t1 - t0
            parts["rollups"] += t2 - t1
            parts["store write_usage"] += t3 - t2
            written += len(records)
        await ks.close()
    return best, {name: seconds / written for name, seconds in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a smoke test")
    args = parser.parse_args()
    pin_to_core(SERVER_CORE)
    n, batches = (2000, 2) if args.quick else (20000, 10)
    best, parts = asyncio.run(measure(n, batches))
    print_table(
        "middleware_inprocess: a protected Starlette request, in-process",
        [("run", ""), *machine_rows(), ("load avg", f"{os.getloadavg()[0]:.1f} (1 min)")],
        right=False,
    )
    bare = best["bare"]
    rows: list[tuple[str, ...]] = [("Starlette app", "CPU/request", "over bare")]
    rows += [(label, fmt_us(cpu), fmt_us(cpu - bare)) for label, cpu in best.items()]
    print_table(f"per request, best of 3 passes of {n:,}", rows)
    rows = [("inline usage writer, SQLite", "CPU/record")]
    rows += [(name, fmt_us(cpu)) for name, cpu in parts.items()]
    rows.append(("all", fmt_us(sum(parts.values()))))
    print_table(f"writing usage: {batches} batches of 1,000 records", rows)


if __name__ == "__main__":
    main()
