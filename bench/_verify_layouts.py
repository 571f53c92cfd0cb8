"""The two layouts of bench/http_verify.py (where the server's children run), the
servers it measures in them, and its report."""

from __future__ import annotations

import argparse
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _common import fmt_ratio, fmt_us, machine_rows, move_to_core, print_table
from http_verify import CLIENT_CORE, SERVER_CORE, Result

CPU_FLOOR = 0.40
"""bare CPU per request over Keystead's, all processes counted"""
RATE_FLOOR = 0.40
"""Keystead req/s over bare req/s, server and writer with a core each"""
LAYOUTS = {
    "one core": "server + children on core 0; wrk on core 1",
    "a core each": "server on core 0; its children on core 1, beside wrk",
}


@dataclass
class Server:
    """One server under load: its process, where wrk aims, and its runs per layout."""

    label: str
    process: subprocess.Popen[bytes]
    url: str
    lua: Path
    runs: dict[str, list[tuple[Result, float, float]]] = field(default_factory=dict)
    """layout: (wrk's result, CPU seconds of the process tree, of its children) per run"""

    def cpu_per_request(self, layout: str, seconds: int, *, children: bool = False) -> float:
        runs = self.runs[layout]
        cpu = sum(child if children else tree for _, tree, child in runs)
        return cpu / sum(r.rps * seconds for r, _, _ in runs)

    def best(self, layout: str) -> Result:
        return max((r for r, _, _ in self.runs[layout]), key=lambda r: r.rps)


def place_children(pid: int, layout: str, children: Callable[[int], list[int]]) -> None:
    """The server's children (the usage writer) on the core the layout gives them."""
    core = SERVER_CORE if layout == "one core" else CLIENT_CORE
    for child in children(pid):
        move_to_core(child, core)


def report(
    args: argparse.Namespace, servers: list[Server], layouts: list[str], seconds: int, rounds: int
) -> None:
    print_table(
        "http_verify: POST /v1/keys/verify on keystead serve vs a bare ASGI app",
        [
            ("run", ""),
            *machine_rows(),
            ("keystead", "keystead init + keystead serve (SQLite, usage writer process)"),
            ("bare", "bench/hello_app.py, uvicorn httptools + uvloop, no access log"),
            ("load", f"wrk {args.threads} threads, {args.connections} connections, core 1"),
            ("runs", f"{rounds} x {seconds} s per server and layout, alternating"),
            ("CPU", "per request: user + system of the process and its children (of which)"),
            ("mode", "quick" if args.quick else "full"),
        ],
        right=False,
    )
    bare = servers[0]
    for layout in layouts:
        rows: list[tuple[str, ...]] = [
            ("server", "req/s (best)", "all runs", "p50", "p99", "CPU/req", "children", "errors")
        ]
        for server in servers:
            top = server.best(layout)
            runs = [r for r, _, _ in server.runs[layout]]
            socket_errors = [r.socket_errors for r in runs if r.socket_errors]
            rows.append(
                (
                    server.label,
                    f"{top.rps:,.0f}",
                    " ".join(f"{r.rps:,.0f}" for r in runs),
                    f"{top.p50_ms:.2f} ms",
                    f"{top.p99_ms:.2f} ms",
                    fmt_us(server.cpu_per_request(layout, seconds)),
                    fmt_us(server.cpu_per_request(layout, seconds, children=True)),
                    f"{sum(r.non_2xx for r in runs)} non-2xx"
                    + (f"; {socket_errors[0]}" if socket_errors else ""),
                )
            )
        print_table(f"{layout}: {LAYOUTS[layout]}", rows)
        ratios: list[tuple[str, ...]] = [
            ("vs bare, same run", "req/s", "CPU/req (bare / keystead)", "p99", "floors")
        ]
        for server in servers[1:]:
            rate = server.best(layout).rps / bare.best(layout).rps
            cpu = bare.cpu_per_request(layout, seconds) / server.cpu_per_request(layout, seconds)
            verdicts = [f"CPU >= {CPU_FLOOR}: {'met' if cpu >= CPU_FLOOR else 'NOT met'}"]
            if layout == "a core each":
                verdicts.append(
                    f"req/s >= {RATE_FLOOR}: {'met' if rate >= RATE_FLOOR else 'NOT met'}"
                )
            ratios.append(
                (
                    server.label,
                    f"{rate:.2f}",
                    f"{cpu:.2f}",
                    fmt_ratio(server.best(layout).p99_ms / bare.best(layout).p99_ms),
                    "; ".join(verdicts),
                )
            )
        print_table(f"{layout}: ratios", ratios)


__all__ = ["CPU_FLOOR", "LAYOUTS", "RATE_FLOOR", "Server", "place_children", "report"]
