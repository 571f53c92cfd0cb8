"""``keystead gateway`` over HTTP: req/s, added latency and CPU per request against
a direct call to the same upstream.

    .venv/bin/python bench/gateway_http.py            # full run (about 2.5 min)
    .venv/bin/python bench/gateway_http.py --quick    # smoke run (about 20 s)

The upstream is the raw ASGI hello of bench/hello_app.py (a small JSON answer)
under uvicorn, one worker, httptools + uvloop, pinned to core 1. The gateway is
``keystead gateway`` (1 worker, pinned to core 0) in front of it, as the CLI
runs it: uvicorn with httptools + uvloop, usage written by its writer process
(moved to core 1 once it starts, as bench/usage_http.py does). Its one route
has ``auth: required`` and a route rate limit that never refuses (10^9 per
second), on a SQLite store of 1,000 keys in a temp directory; the key is
cached after the first request. wrk runs on core 1 and sends
``Authorization: Bearer <key>`` to both targets (the upstream ignores it).

Two loads, each in alternating runs (direct, gateway, direct, gateway ...):

* saturation: wrk with 64 connections (``--connections``); "gateway core busy"
  says how much of core 0 the gateway used: below 100%, core 1 (wrk, the
  upstream and the writer) was the limit, not the gateway;
* low load: 1 connection, 1 thread: one request at a time, so the added
  latency is the gateway's own time per request, without queueing.

"added" is the gateway's p50/p99 minus the direct call's. CPU per request is
read from /proc/<pid>/stat around each run, for the gateway process, its
writer and the upstream. "req/s per gateway core" is CPU-time based
(requests / gateway CPU seconds), so it depends far less than req/s on what
else ran on the machine (CPU per request still rises as the request rate
falls: fewer requests share each event-loop wake-up, which is why the
low-load row costs more); it is set against Tyk's published figure of about
1,900 req/s per vCPU with auth, rate limiting and analytics on. On two cores
the upstream and the writer share core 1 with wrk, which also lowers the
gateway's req/s at saturation: the CPU-based figure is the one to compare.

Checks: every answer is a 200 (wrk's non-2xx count), the gateway refuses a
request without a key (401), and the usage rows afterwards cover every request
the gateway answered.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import yaml
from _common import machine_rows, median, move_to_core, print_table, require_tool
from http_verify import CLIENT_CORE, SERVER_CORE, free_port
from middleware_http import (
    NEVER_REFUSING,
    Run,
    Server,
    bootstrap_store,
    errors_of,
    expect,
    fixed,
    fmt_us,
    header_lua,
    rows_written,
    server_env,
    start,
    stop,
    uvicorn_argv,
    wait_for_children,
    wait_ready,
    write_json,
    wrk,
)

TYK_PER_VCPU = 1900.0
UPSTREAM_CORE = CLIENT_CORE
TARGETS = ("direct", "gateway")
LOADS = ("saturation", "low load")


def gateway_config(path: Path, port: int, upstream_port: int) -> Path:
    config = {
        "listen": {"host": "127.0.0.1", "port": port},
        "routes": [
            {
                "name": "bench",
                "match": {"path_prefix": "/"},
                "upstream": {"url": f"http://127.0.0.1:{upstream_port}"},
                "auth": "required",
                "ratelimits": NEVER_REFUSING,
            }
        ],
    }
    path.write_text(yaml.safe_dump(config))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per load")
    parser.add_argument("--connections", type=int, default=64, help="at saturation")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads at saturation")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    require_tool("wrk", "apt-get update && apt-get install -y wrk")
    seconds, rounds, warmup = (3, 1, 1) if args.quick else (args.seconds, args.rounds, 3)
    started = time.monotonic()
    loads = {"saturation": (args.connections, args.threads), "low load": (1, 1)}

    with tempfile.TemporaryDirectory(prefix="ks-gateway-http-") as tmp_name:
        tmp = Path(tmp_name)
        env, key = asyncio.run(bootstrap_store(tmp))
        headers = {"Authorization": f"Bearer {key}"}
        lua = header_lua(tmp / "get.lua", headers)
        up_port, gw_port = free_port(), free_port()
        config = gateway_config(tmp / "gateway.yaml", gw_port, up_port)
        servers: dict[str, Server] = {}
        results: dict[tuple[str, str], list[Run]] = {
            (load, t): [] for load in LOADS for t in TARGETS
        }
        answered = 0  # by the gateway, warm-ups and checks included
        try:
            servers["direct"] = start(
                "upstream",
                uvicorn_argv("hello_app:create_app", up_port),
                up_port,
                server_env({}),
                tmp,
                UPSTREAM_CORE,
            )
            # KEYSTEAD_USAGE_WRITER is not set: the CLI picks the writer process
            gateway_argv = [
                sys.executable,
                "-m",
                "keystead.cli",
                "gateway",
                "--config",
                str(config),
            ]
            servers["gateway"] = start(
                "gateway", gateway_argv, gw_port, server_env(env), tmp, SERVER_CORE
            )
            wait_ready(list(servers.values()))
            expect(servers["direct"], headers, 200)
            expect(servers["gateway"], headers, 200)
            expect(servers["gateway"], {}, 401)
            answered += 1
            for name, server in servers.items():  # warm up; the writer starts on its first batch
                run = wrk(server.url(), lua, warmup, args.connections, args.threads)
                answered += run.requests if name == "gateway" else 0
            gateway = servers["gateway"]
            writers = wait_for_children(gateway.pid, 1, 60, "the gateway's usage writer")
            for writer in writers:
                move_to_core(writer, CLIENT_CORE)
            watch: dict[str, Callable[[], Sequence[int]]] = {
                "gateway": fixed([gateway.pid]),
                "writer": fixed(writers),
                "upstream": fixed([servers["direct"].pid]),
            }
            for load in LOADS:
                connections, threads = loads[load]
                for _ in range(rounds):
                    for name in TARGETS:
                        run = wrk(
                            servers[name].url(),
                            lua,
                            seconds,
                            connections,
                            threads,
                            watch=watch,
                        )
                        results[load, name].append(run)
                        answered += run.requests if name == "gateway" else 0
            expect(gateway, headers, 200)
            answered += 1
        finally:
            for server in reversed(servers.values()):
                stop(server)
        written = rows_written(tmp / "keystead.db")

    report(args, results, loads, seconds, rounds, written, answered)
    print(f"\nwall time {time.monotonic() - started:.0f} s")
    write_json(
        args.json,
        {
            "results": {f"{load}/{t}": [asdict(r) for r in v] for (load, t), v in results.items()},
            "usage_rows": written,
            "answered_gateway": answered,
        },
    )
    if any(r.non_2xx for runs in results.values() for r in runs):
        sys.exit("some answers were not 200: see the non-2xx column")


def report(
    args: argparse.Namespace,
    results: dict[tuple[str, str], list[Run]],
    loads: dict[str, tuple[int, int]],
    seconds: int,
    rounds: int,
    written: int,
    answered: int,
) -> None:
    print_table(
        "gateway_http: wrk direct to the upstream vs through keystead gateway",
        [
            ("run", ""),
            *machine_rows(),
            ("upstream", "bench/hello_app.py, uvicorn 1 worker, httptools + uvloop, core 1"),
            ("gateway", "keystead gateway, 1 worker, core 0; its usage writer on core 1"),
            ("route", "auth required, 1 route rate limit (never refuses), usage on"),
            (
                "load",
                "; ".join(
                    f"{n}: wrk {t} threads, {c} conn., core 1" for n, (c, t) in loads.items()
                ),
            ),
            ("runs", f"{rounds} x {seconds} s per target and load, alternating; median run"),
            ("mode", "quick" if args.quick else "full"),
        ],
        right=False,
    )
    rows: list[tuple[str, ...]] = [
        ("load", "target", "req/s", "all runs", "p50", "p99", "added p50", "added p99", "non-2xx")
    ]
    for load in LOADS:
        direct = results[load, "direct"]
        for name in TARGETS:
            runs = results[load, name]
            p50 = median([r.p50_ms for r in runs])
            p99 = median([r.p99_ms for r in runs])
            added = name == "gateway"
            rows.append(
                (
                    load,
                    name,
                    f"{median([r.rps for r in runs]):,.0f}",
                    " ".join(f"{r.rps:,.0f}" for r in runs),
                    f"{p50:.3f} ms",
                    f"{p99:.3f} ms",
                    f"{p50 - median([r.p50_ms for r in direct]):+.3f} ms" if added else "",
                    f"{p99 - median([r.p99_ms for r in direct]):+.3f} ms" if added else "",
                    errors_of(runs),
                )
            )
    print_table("req/s and latency (added: gateway minus direct, medians)", rows)

    cpu_rows: list[tuple[str, ...]] = [
        (
            "load",
            "gateway CPU/req",
            "writer CPU/req",
            "upstream CPU/req",
            "gateway core busy",
            "req/s per gateway core",
            "incl. writer",
            "vs Tyk ~1,900/vCPU",
        )
    ]
    for load in LOADS:
        runs = results[load, "gateway"]
        gateway = median([r.cpu_per_request("gateway") for r in runs])
        writer = median([r.cpu_per_request("writer") for r in runs])
        upstream = median([r.cpu_per_request("upstream") for r in runs])
        busy = median([r.cpu_s.get("gateway", 0.0) / seconds for r in runs])
        per_core = 1 / gateway if gateway else float("inf")
        with_writer = 1 / (gateway + writer) if gateway + writer else float("inf")
        cpu_rows.append(
            (
                load,
                fmt_us(gateway),
                fmt_us(writer),
                fmt_us(upstream),
                f"{busy:.0%}",
                f"{per_core:,.0f}",
                f"{with_writer:,.0f}",
                f"{per_core / TYK_PER_VCPU:.1f}x ({with_writer / TYK_PER_VCPU:.1f}x incl. writer)",
            )
        )
    direct_upstream = median(
        [r.cpu_per_request("upstream") for r in results["saturation", "direct"]]
    )
    print_table("gateway CPU (per core: requests / gateway CPU seconds; median runs)", cpu_rows)
    print(
        f"\nupstream CPU per request when called directly (saturation): {fmt_us(direct_upstream)}"
    )
    status = "all recorded" if written >= answered else f"{answered - written:,} MISSING"
    print(
        f"usage rows afterwards: {written:,} for {answered:,} requests the gateway answered "
        f"(wrk's count): {status}"
    )


if __name__ == "__main__":
    main()
