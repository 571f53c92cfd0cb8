"""``keystead gateway`` as a user starts it: req/s, added latency and CPU per request
of all its processes, against a direct call to the same upstream.

    .venv/bin/python bench/gateway_http.py            # full run (about 4 min)
    .venv/bin/python bench/gateway_http.py --quick    # smoke run (about 30 s)
    .venv/bin/python bench/gateway_http.py --variant PYTHONPATH=/tmp/before/src

The gateway is ``keystead gateway --config gateway.yaml`` on its defaults (one
worker, uvicorn with httptools + uvloop, no access log, usage written by its
writer process), with only ``KEYSTEAD_DATABASE_URL`` and ``KEYSTEAD_SECRET_FILE``
set: a SQLite store of 1,000 keys in a temp directory. Its one route has
``auth: required`` and a route rate limit that never refuses (10^9 per second);
the key is cached after the first request. The upstream is the raw ASGI hello of
bench/hello_app.py under uvicorn (httptools + uvloop), pinned to core 1 beside
wrk, which sends ``Authorization: Bearer <key>`` to both targets (the upstream
ignores it).

Three cases, each in alternating runs (direct, gateway, direct, gateway ...):

* saturation, one core: the gateway and its writer on core 0 (wrk 64
  connections, ``--connections``);
* saturation, a core each: the gateway on core 0, its writer on core 1 beside
  wrk and the upstream (the layouts of bench/http_verify.py);
* low load, one core: 1 connection, 1 thread: one request at a time, so the
  added latency is the gateway's own time per request, without queueing.

"added" is the gateway's p50/p99 minus the direct call's (medians). CPU per
request is the user + system time of every process of the gateway (itself and
its children: the writer) over the requests answered, all runs summed; "req/s
per vCPU" is its inverse, requests per CPU-second of all the gateway's
processes, set against Kong's published figure of about 6,400 req/s per vCPU
with key-auth and rate limiting (the floor; issue: fast by default). It
depends far less than req/s on what else runs on the machine: on two cores the
upstream shares core 1 with wrk, which also bounds the gateway's req/s.

``--variant K=V[,K=V]`` adds a gateway with that environment, measured in the
same rounds (``PYTHONPATH=DIR/src``: another version of the code).

Checks: every answer is a 200 (wrk's non-2xx count), the gateway refuses a
request without a key (401), and the usage rows afterwards cover every request
the gateway answered.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import yaml
from _common import machine_rows, median, print_table, require_tool
from _serving import (
    NEVER_REFUSING,
    Run,
    Server,
    bootstrap_store,
    children,
    cpu_per_request,
    descendants,
    errors_of,
    expect,
    fixed,
    fmt_us,
    header_lua,
    load_average,
    rows_written,
    server_env,
    start,
    stop,
    tree,
    wait_for_children,
    wait_ready,
    write_json,
    wrk,
)
from _verify_layouts import LAYOUTS, place_children
from http_verify import CLIENT_CORE, SERVER_CORE, free_port, parse_variant, uvicorn_argv

KONG_PER_VCPU = 6400.0
"""Kong's published req/s per vCPU with key-auth and rate limiting: the floor"""
UPSTREAM_CORE = CLIENT_CORE
CASES = (("saturation", "one core"), ("saturation", "a core each"), ("low load", "one core"))


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
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per case")
    parser.add_argument("--connections", type=int, default=64, help="at saturation")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads at saturation")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--variant",
        type=parse_variant,
        action="append",
        default=[],
        help="also run a gateway with these settings (environment), e.g. "
        "PYTHONPATH=/path/to/other/src",
    )
    args = parser.parse_args()
    require_tool("wrk", "apt-get update && apt-get install -y wrk")
    require_tool("taskset", "apt-get install -y util-linux")
    seconds, rounds, warmup = (3, 1, 1) if args.quick else (args.seconds, args.rounds, 3)
    started = time.monotonic()
    args.load = load_average()
    loads = {"saturation": (args.connections, args.threads), "low load": (1, 1)}

    with tempfile.TemporaryDirectory(prefix="ks-gateway-http-") as tmp_name:
        tmp = Path(tmp_name)
        env, key = asyncio.run(bootstrap_store(tmp))
        env.pop("KEYSTEAD_LOG_LEVEL")  # the gateway on its defaults
        headers = {"Authorization": f"Bearer {key}"}
        lua = header_lua(tmp / "get.lua", headers)
        up_port = free_port()
        variants = {"gateway": {}} | {
            "gateway, " + ",".join(f"{k}={v}" for k, v in changed.items()): changed
            for changed in args.variant
        }
        targets = ["direct", *variants]
        servers: dict[str, Server] = {}
        results: dict[tuple[str, str, str], list[Run]] = {
            (load, layout, t): [] for load, layout in CASES for t in targets
        }
        answered = 0  # by the gateways, warm-ups and checks included
        try:
            servers["direct"] = start(
                "upstream",
                uvicorn_argv("hello_app:create_app", up_port),
                up_port,
                server_env({}),
                tmp,
                UPSTREAM_CORE,
            )
            for index, (name, changed) in enumerate(variants.items()):
                port = free_port()
                config = gateway_config(tmp / f"gateway-{index}.yaml", port, up_port)
                # as a user starts it: KEYSTEAD_USAGE_WRITER unset, the CLI picks the writer process
                argv = [sys.executable, "-m", "keystead.cli", "gateway", "--config", str(config)]
                environ = server_env({**env, **changed})
                servers[name] = start(f"gateway-{index}", argv, port, environ, tmp, SERVER_CORE)
            wait_ready(list(servers.values()))
            expect(servers["direct"], headers, 200)
            for name in variants:
                expect(servers[name], headers, 200)
                expect(servers[name], {}, 401)
                answered += 1
            for name, server in servers.items():  # warm up; the writer starts on its first batch
                run = wrk(server.url(), lua, warmup, args.connections, args.threads)
                answered += run.requests if name in variants else 0
            watches: dict[str, dict[str, Callable[[], Sequence[int]]]] = {}
            upstream = fixed([servers["direct"].pid])
            for name, server in servers.items():
                watches[name] = {"upstream": upstream}
                if name in variants:
                    wait_for_children(server.pid, 1, 60, f"{name}'s usage writer")
                    watches[name]["all"] = functools.partial(tree, server.pid)
                    watches[name]["children"] = functools.partial(descendants, server.pid)
            for load, layout in CASES:
                connections, threads = loads[load]
                for _ in range(rounds):
                    for name in targets:
                        server = servers[name]
                        place_children(server.pid, layout, children)
                        run = wrk(
                            server.url(), lua, seconds, connections, threads, watch=watches[name]
                        )
                        results[load, layout, name].append(run)
                        answered += run.requests if name in variants else 0
            for name in variants:
                expect(servers[name], headers, 200)
                answered += 1
        finally:
            for server in reversed(servers.values()):
                stop(server)
        written = rows_written(tmp / "keystead.db")

    report(args, results, targets, loads, seconds, rounds, written, answered)
    print(f"\nwall time {time.monotonic() - started:.0f} s")
    write_json(
        args.json,
        {
            "results": {"/".join(case): [asdict(r) for r in v] for case, v in results.items()},
            "usage_rows": written,
            "answered_gateway": answered,
        },
    )
    if any(r.non_2xx for runs in results.values() for r in runs):
        sys.exit("some answers were not 200: see the non-2xx column")


def report(
    args: argparse.Namespace,
    results: dict[tuple[str, str, str], list[Run]],
    targets: list[str],
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
            ("gateway", "keystead gateway --config, defaults: 1 worker, usage writer process"),
            ("upstream", "bench/hello_app.py, uvicorn 1 worker, httptools + uvloop, core 1"),
            ("route", "auth required, 1 route rate limit (never refuses), usage on"),
            *((f"{n}", f"{LAYOUTS[n]}; the upstream on core 1") for n in LAYOUTS),
            (
                "load",
                "; ".join(f"{n}: wrk {t} threads, {c} conn." for n, (c, t) in loads.items()),
            ),
            ("runs", f"{rounds} x {seconds} s per target and case, alternating; median run"),
            ("CPU", "per request: user + system of the gateway and its children, all runs"),
            ("load avg", f"{args.load} at the start; {load_average()} at the end"),
            ("mode", "quick" if args.quick else "full"),
        ],
        right=False,
    )
    rows: list[tuple[str, ...]] = [
        ("case", "target", "req/s", "all runs", "p50", "p99", "added p50", "added p99", "non-2xx")
    ]
    for load, layout in CASES:
        direct = results[load, layout, "direct"]
        for name in targets:
            runs = results[load, layout, name]
            p50 = median([r.p50_ms for r in runs])
            p99 = median([r.p99_ms for r in runs])
            added = name != "direct"
            rows.append(
                (
                    f"{load}, {layout}",
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
            "case",
            "gateway",
            "CPU/req, all its processes",
            "of which the writer",
            "upstream CPU/req",
            "gateway busy",
            "req/s per vCPU",
            f"vs Kong ~{KONG_PER_VCPU:,.0f}/vCPU",
        )
    ]
    for load, layout in CASES:
        for name in targets[1:]:
            runs = results[load, layout, name]
            cpu = cpu_per_request(runs, "all")
            per_vcpu = 1 / cpu if cpu else float("inf")
            busy = sum(r.cpu_s.get("all", 0.0) for r in runs) / (seconds * len(runs))
            verdict = "met" if per_vcpu >= KONG_PER_VCPU else "NOT met"
            cpu_rows.append(
                (
                    f"{load}, {layout}",
                    name,
                    fmt_us(cpu),
                    fmt_us(cpu_per_request(runs, "children")),
                    fmt_us(cpu_per_request(runs, "upstream")),
                    f"{busy:.0%} of a core",
                    f"{per_vcpu:,.0f}",
                    f"{per_vcpu / KONG_PER_VCPU:.2f}x ({verdict})",
                )
            )
    print_table("gateway CPU (per vCPU: requests / CPU-seconds of all its processes)", cpu_rows)
    direct = results["saturation", "one core", "direct"]
    print(
        "\nupstream CPU per request when called directly (saturation): "
        + fmt_us(cpu_per_request(direct, "upstream"))
    )
    status = "all recorded" if written >= answered else f"{answered - written:,} MISSING"
    print(
        f"usage rows afterwards: {written:,} for {answered:,} requests the gateway answered "
        f"(wrk's count): {status}"
    )


if __name__ == "__main__":
    main()
