"""What usage recording costs ``POST /v1/keys/verify`` over HTTP, in one run.

    .venv/bin/python bench/usage_http.py            # full run (about 3 min)
    .venv/bin/python bench/usage_http.py --quick    # smoke run (about 40 s)

Three Keystead servers on one SQLite store, the same request as
bench/http_verify.py (uvicorn, one worker, httptools + uvloop, pinned to core 0;
wrk pinned to core 1), in alternating runs:

* off: ``KEYSTEAD_USAGE_ENABLED=false``;
* inline: every record written by the serving process (its flusher task);
* writer process: the records written by the child process beside it
  (``KEYSTEAD_USAGE_WRITER=process``, what ``keystead serve`` runs), the child
  pinned to core 1 with wrk: off the serving core.

Target: recording keeps at least 90% of the throughput with recording off.
Every record is written: the bench counts the rows afterwards.

On two cores the writer process shares core 1 with wrk, so it takes load
generation away and req/s understates what a server with a core to spare
gets. The bench therefore also reads the CPU time each server process (and the
writer) used during its runs (/proc/<pid>/stat): CPU per request on the serving
core is what bounds a saturated server's throughput, and "kept (CPU)" is the
ratio of that figure with recording off to the one with it on.

Serving CPU per request also rises when the request rate falls (fewer
requests share each event-loop wake-up), and the writer lowers the rate by
taking wrk's core. So the bench then offers every server the same paced load
(``--paced``, req/s below what all variants sustain; wrk's ``delay()`` hook
spaces each connection's requests) and compares serving CPU per request at
equal rates: what recording itself costs the serving process.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import sqlite3
import tempfile
from pathlib import Path

from _common import machine_rows, median, move_to_core, print_table, require_tool, wait_until
from http_verify import (
    CLIENT_CORE,
    LUA,
    Result,
    bootstrap,
    free_port,
    post,
    ready,
    start_server,
    stop,
    wrk,
)

VARIANTS = {
    "off": {"KEYSTEAD_USAGE_ENABLED": "false"},
    "inline": {"KEYSTEAD_USAGE_WRITER": "inline"},
    "process": {"KEYSTEAD_USAGE_WRITER": "process"},
}
LABELS = {
    "off": "recording off",
    "inline": "recording on, written by the serving process",
    "process": "recording on, written by a writer process",
}


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rows_written(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute("SELECT count(*) FROM ks_usage").fetchone()
    return int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--paced", type=int, default=6000, help="req/s of the paced runs")
    args = parser.parse_args()
    require_tool("wrk", "apt-get update && apt-get install -y wrk")
    seconds, rounds = (3, 1) if args.quick else (args.seconds, args.rounds)
    with tempfile.TemporaryDirectory(prefix="ks-usage-http-") as tmp_name:
        tmp = Path(tmp_name)
        env, root_key, key = asyncio.run(bootstrap(tmp))
        body = json.dumps({"key": key, "ip": "10.1.2.3", "permissions": "documents.read"})
        lua = tmp / "verify.lua"
        lua.write_text(LUA % (json.dumps(body), root_key))
        paced_lua = tmp / "paced.lua"
        pause_ms = max(1, round(args.connections * 1000 / args.paced))
        paced_lua.write_text(lua.read_text() + f"function delay() return {pause_ms} end\n")
        paced: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {root_key}"}
        ports = {name: free_port() for name in VARIANTS}
        servers = {}
        results: dict[str, list[Result]] = {name: [] for name in VARIANTS}
        cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
        writer_cpu: list[float] = []
        target = "keystead.http.app:create_app"
        try:
            for name, extra in VARIANTS.items():
                servers[name] = start_server(target, ports[name], {**env, **extra}, tmp, None)
            for name, process in servers.items():
                wait_until(functools.partial(ready, ports[name], process), 60, f"{name} server")
                status, _ = post(ports[name], "/v1/keys/verify", body.encode(), headers)
                assert status == 200, f"{name}: {status}"
            verify_url = {n: f"http://127.0.0.1:{p}/v1/keys/verify" for n, p in ports.items()}
            for name in VARIANTS:  # warm up; the writer process starts on the first batch
                wrk(verify_url[name], lua, 1 if args.quick else 3, args.connections, 2)
            wait_until(lambda: bool(children(servers["process"].pid)), 60, "the writer process")
            (writer,) = children(servers["process"].pid)
            move_to_core(writer, CLIENT_CORE)
            for _ in range(rounds):
                for name in VARIANTS:
                    pid = servers[name].pid
                    before, writer_before = cpu_seconds(pid), cpu_seconds(writer)
                    run = wrk(verify_url[name], lua, seconds, args.connections, 2)
                    results[name].append(run)
                    requests = run.rps * seconds
                    cpu[name].append((cpu_seconds(pid) - before) / requests)
                    if name == "process":
                        writer_cpu.append((cpu_seconds(writer) - writer_before) / requests)
            for _ in range(rounds):
                for name in VARIANTS:
                    pid = servers[name].pid
                    before = cpu_seconds(pid)
                    run = wrk(verify_url[name], paced_lua, seconds, args.connections, 2)
                    paced[name].append((run.rps, (cpu_seconds(pid) - before) / (run.rps * seconds)))
        finally:
            for process in servers.values():
                stop(process)  # a clean stop flushes what is buffered
        written = rows_written(tmp / "keystead.db")
    answered = sum(r.rps * seconds for name in ("inline", "process") for r in results[name])
    answered += sum(rps * seconds for name in ("inline", "process") for rps, _ in paced[name])
    rows = [("variant", "median req/s", "p99 ms", "kept", "serving CPU/req", "kept (CPU)")]
    base = median([r.rps for r in results["off"]])
    base_cpu = median(cpu["off"])
    for name in VARIANTS:
        rps = median([r.rps for r in results[name]])
        p99 = median([r.p99_ms for r in results[name]])
        used = median(cpu[name])
        rows.append(
            (
                LABELS[name],
                f"{rps:,.0f}",
                f"{p99:.2f}",
                f"{rps / base:.0%}",
                f"{used * 1e6:.1f} us",
                f"{base_cpu / used:.0%}",
            )
        )
    print_table("machine", list(machine_rows()))
    print_table(
        f"POST /v1/keys/verify with usage recording, SQLite, {rounds} x {seconds} s runs "
        "(target: kept >= 90%)",
        rows,
    )
    paced_rows = [("variant", "median req/s", "serving CPU/req", "kept (CPU)")]
    paced_base = median([used for _, used in paced["off"]])
    for name in VARIANTS:
        used = median([u for _, u in paced[name]])
        rps = median([r for r, _ in paced[name]])
        paced_rows.append(
            (LABELS[name], f"{rps:,.0f}", f"{used * 1e6:.1f} us", f"{paced_base / used:.0%}")
        )
    print_table(
        f"the same, paced: {pause_ms} ms between requests on each of {args.connections} "
        f"connections (about {args.paced:,} req/s offered to each)",
        paced_rows,
    )
    print(f"usage rows in the store afterwards: {written:,} (about {answered:,.0f} answered)")
    print(f"writer process CPU per request (on core 1): {median(writer_cpu) * 1e6:.1f} us")


if __name__ == "__main__":
    main()
