"""What Keystead's embedded ASGI middleware costs a real endpoint, over HTTP.

    .venv/bin/python bench/middleware_http.py            # full run (about 3 min)
    .venv/bin/python bench/middleware_http.py --quick    # smoke run (about 30 s)
    .venv/bin/python bench/middleware_http.py --breakdown  # plus three probes (about 5 min)
    .venv/bin/python bench/middleware_http.py --only starlette  # one framework's servers

The same endpoint (``GET /api/data`` answering ``{"data": [1, 2, 3]}``,
bench/middleware_app.py) in Starlette and in FastAPI, each served bare and
protected by ``KeysteadMiddleware(guard=Embedded())``, plus the FastAPI route
with ``Depends(require_key("data.read"))`` as docs/integrations.md writes it.
Every server is uvicorn, one worker, httptools + uvloop, pinned to core 0; wrk
is pinned to core 1 and sends ``Authorization: Bearer <key>`` to all of them
(the bare apps ignore it).

The protected servers share one SQLite store bootstrapped in a temp directory
(1,000 keys); the key sent is cached after the first request, has one rate
limit (10^9 per second: never refuses) and usage recording is on with the
writer process ``keystead serve`` uses (``KEYSTEAD_USAGE_WRITER=process``); each
writer is moved to core 1 beside wrk, so the serving core only verifies and
buffers. Runs alternate between the servers (rounds x servers), the figure is
the median run; "kept" is protected req/s over the bare app's (target: at
least 50%).

CPU per request is read from /proc/<pid>/stat around each run: the serving
process's (what bounds a saturated server's req/s on its core) and the
writer's (spent on core 1, where it also takes time from wrk: on two cores
protected req/s understate what a machine with a core to spare gets, so the
table also shows "kept (CPU)": bare serving CPU per request over protected).

``--breakdown`` adds three Starlette probes (bench/middleware_app.py), compared
with bare Starlette: a middleware that only adds two fixed rate-limit headers;
``KeysteadMiddleware`` with a guard that answers a precomputed check and
completes nothing; and the protected server with ``KEYSTEAD_GC_TUNING=false``.
The first two split the cost: what any header-adding middleware pays the
server, what Keystead's plumbing adds, and (the protected row) what verifying,
limiting and recording add. The third shows what the collector's tuning
(docs/integrations.md) is worth.

Checks: every answer of every run is a 200 (wrk's non-2xx count), a request
without a key gets a 401 from each protected server, and the usage rows in the
store afterwards cover every request the protected servers answered.

Also the helpers of bench/peers_http.py and bench/gateway_http.py.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.client
import json
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _common import machine_rows, median, move_to_core, print_table, require_tool, wait_until
from http_verify import (
    CLIENT_CORE,
    SERVER_CORE,
    free_port,
    parse_wrk,
    pinned,
    uvicorn_argv,
    wrk_argv,
)

from keystead.config import Settings
from keystead.service import Keystead

TARGET_KEPT = 0.50
PATH = "/api/data"
NEVER_REFUSING = [{"name": "requests", "limit": 10**9, "duration_s": 1}]
PERMISSION = "data.read"


# helpers, shared with bench/peers_http.py and bench/gateway_http.py -----------
@dataclass
class Run:
    """One wrk run, with the CPU the processes watched used during it."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: str | None
    cpu_s: dict[str, float] = field(default_factory=dict)

    def cpu_per_request(self, name: str) -> float:
        return self.cpu_s.get(name, 0.0) / max(1, self.requests)


async def bootstrap_store(tmp: Path, keys: int = 1000) -> tuple[dict[str, str], str]:
    """A fresh SQLite store with one API and ``keys`` keys, each with the
    ``data.read`` permission and a rate limit that never refuses. Returns the
    servers' ``KEYSTEAD_*`` environment and one key."""
    secret_file = tmp / "keystead.secret"
    secret_file.write_text(secrets.token_hex(32) + "\n")
    secret_file.chmod(0o600)
    database_url = f"sqlite:///{tmp / 'keystead.db'}"
    settings = Settings(_env_file=None, database_url=database_url, secret_file=secret_file)
    async with await Keystead.open(settings=settings) as ks:
        await ks.workspaces.init()
        principal = await ks.workspaces.local_operator()
        api = await ks.apis.create(principal, name="bench", prefix="bench")
        spec = {"api_id": api.id, "permissions": [PERMISSION], "ratelimits": NEVER_REFUSING}
        created = await ks.keys.create_many(principal, [spec] * keys)
    env = {
        "KEYSTEAD_DATABASE_URL": database_url,
        "KEYSTEAD_SECRET_FILE": str(secret_file),
        "KEYSTEAD_LOG_LEVEL": "warning",
    }
    return env, created[keys // 2].plaintext


def server_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without ``KEYSTEAD_*`` or ``PYTHONPATH`` (a
    server uses its own interpreter's packages), plus ``extra``."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_") and k != "PYTHONPATH"
    }
    return {**base, **extra}


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, path: str = PATH) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def start(
    name: str,
    argv: list[str],
    port: int,
    env: Mapping[str, str],
    tmp: Path,
    core: int | None = None,
    cwd: Path | None = None,
) -> Server:
    """Start a server (pinned to ``core`` when given), its output in a log file."""
    log = tmp / f"{re.sub(r'[^a-z0-9]+', '-', name.lower())}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv if core is None else pinned(core, argv),
            cwd=cwd or tmp,
            env=dict(env),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return Server(name, port, process, log)


def get(port: int, path: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=dict(headers))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _answers(server: Server) -> bool:
    if server.process.poll() is not None:
        raise RuntimeError(f"{server.name} exited:\n{server.log.read_text()[-4000:]}")
    try:
        get(server.port, "/", {})
    except OSError:
        return False
    return True


def wait_ready(servers: Sequence[Server], timeout_s: float = 90) -> None:
    for server in servers:
        wait_until(functools.partial(_answers, server), timeout_s, server.name)


def expect(server: Server, headers: Mapping[str, str], status: int, path: str = PATH) -> None:
    got, body = get(server.port, path, headers)
    if got != status:
        raise RuntimeError(f"{server.name}: GET {path} answered {got}, not {status}: {body!r}")


def stop(server: Server) -> None:
    """SIGTERM (a clean stop writes the usage still buffered), then SIGKILL."""
    process = server.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def header_lua(path: Path, headers: Mapping[str, str], extra: str = "") -> Path:
    lines = [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path.write_text("\n".join([*lines, extra, ""]))
    return path


def children(pid: int) -> list[int]:
    """Direct children of ``pid``, started from any of its threads."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += children(current)
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (0 when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fixed(pids: Sequence[int]) -> Callable[[], list[int]]:
    """A ``wrk`` watch group of these processes only."""
    return functools.partial(list, pids)


def cpu_of(pids: Sequence[int]) -> dict[int, float]:
    return {pid: cpu_seconds(pid) for pid in pids}


def cpu_since(before: Mapping[int, float], pids: Sequence[int]) -> float:
    """CPU used since ``before`` by ``pids`` (those not in ``before`` counted whole)."""
    return sum(cpu_seconds(pid) - before.get(pid, 0.0) for pid in pids)


_UNIT_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def wrk(
    url: str,
    lua: Path,
    seconds: int,
    connections: int,
    threads: int,
    core: int | None = CLIENT_CORE,
    watch: Mapping[str, Callable[[], Sequence[int]]] | None = None,
) -> Run:
    """One wrk run (pinned to ``core`` when given); ``watch``: named groups of
    processes (a function giving their pids, asked before and after the run:
    ``tree`` counts children started meanwhile too) whose CPU time during the
    run goes in ``Run.cpu_s``."""
    argv = wrk_argv(url, lua, seconds, connections, threads)
    groups = dict(watch or {})
    before = {name: cpu_of(pids()) for name, pids in groups.items()}
    done = subprocess.run(
        argv if core is None else pinned(core, argv),
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    used = {name: cpu_since(before[name], pids()) for name, pids in groups.items()}
    parsed = parse_wrk(done.stdout)
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", done.stdout)
    if total is None:
        raise RuntimeError(f"could not read wrk's request count:\n{done.stdout}")
    return Run(
        rps=parsed.rps,
        p50_ms=parsed.p50_ms,
        p99_ms=parsed.p99_ms,
        requests=int(total.group(1)),
        non_2xx=parsed.non_2xx,
        socket_errors=parsed.socket_errors,
        cpu_s=used,
    )


def wait_for_children(pid: int, count: int, timeout_s: float, what: str) -> list[int]:
    wait_until(lambda: len(children(pid)) >= count, timeout_s, what)
    return children(pid)


def rows_written(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute("SELECT count(*) FROM ks_usage").fetchone()
    return int(count)


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} us"


def errors_of(runs: Sequence[Run]) -> str:
    non_2xx = sum(r.non_2xx for r in runs)
    sockets = next((r.socket_errors for r in runs if r.socket_errors), None)
    return f"{non_2xx}" + (f" ({sockets})" if sockets else "")


def write_json(path: Path | None, payload: Mapping[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": dict(machine_rows()), **payload}, indent=2))


# this bench ----------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    label: str
    factory: str
    base: str | None  # the bare variant it is compared with; None: it is bare
    keystead: bool = True  # verifies and records usage (a probe does neither)
    env: Mapping[str, str] = field(default_factory=dict)  # more KEYSTEAD_* settings


VARIANTS = {
    "starlette": Variant("Starlette, bare", "middleware_app:starlette_bare", None),
    "starlette_ks": Variant(
        "Starlette + KeysteadMiddleware", "middleware_app:starlette_protected", "starlette"
    ),
    "fastapi": Variant("FastAPI, bare", "middleware_app:fastapi_bare", None),
    "fastapi_ks": Variant(
        "FastAPI + KeysteadMiddleware", "middleware_app:fastapi_protected", "fastapi"
    ),
    "fastapi_dep": Variant(
        "FastAPI + middleware + require_key dep", "middleware_app:fastapi_require_key", "fastapi"
    ),
}
PROBES = {
    "probe_headers": Variant(
        "probe: 2 fixed headers only", "middleware_app:starlette_headers_only", "starlette", False
    ),
    "probe_plumbing": Variant(
        "probe: middleware, fixed check", "middleware_app:starlette_fixed_check", "starlette", False
    ),
    "probe_gc": Variant(
        "probe: Keystead, collector untuned",
        "middleware_app:starlette_protected",
        "starlette",
        env={"KEYSTEAD_GC_TUNING": "false"},
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (all on core 1)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also run three Starlette probes: fixed headers only; the middleware, a fixed check; "
        "Keystead with the collector untuned",
    )
    parser.add_argument(
        "--only",
        choices=("starlette", "fastapi"),
        help="run one framework's servers (bare and protected) and skip the other's",
    )
    args = parser.parse_args()
    require_tool("wrk", "apt-get update && apt-get install -y wrk")
    seconds, rounds, warmup = (3, 1, 1) if args.quick else (args.seconds, args.rounds, 3)
    started = time.monotonic()
    if args.breakdown:
        VARIANTS.update(PROBES)
    if args.only:
        for name in [n for n, v in VARIANTS.items() if (v.base or n) != args.only]:
            del VARIANTS[name]

    with tempfile.TemporaryDirectory(prefix="ks-middleware-http-") as tmp_name:
        tmp = Path(tmp_name)
        env, key = asyncio.run(bootstrap_store(tmp))
        protected_env = server_env({**env, "KEYSTEAD_USAGE_WRITER": "process"})
        headers = {"Authorization": f"Bearer {key}"}
        lua = header_lua(tmp / "get.lua", headers)
        servers: dict[str, Server] = {}
        writers: dict[str, list[int]] = {}
        results: dict[str, list[Run]] = {name: [] for name in VARIANTS}
        answered = 0  # by the protected servers, warm-ups and checks included
        try:
            for name, variant in VARIANTS.items():
                port = free_port()
                bare_env = server_env({})
                server_environ = {**protected_env, **variant.env} if variant.keystead else bare_env
                argv = uvicorn_argv(variant.factory, port)
                servers[name] = start(name, argv, port, server_environ, tmp, SERVER_CORE)
            wait_ready(list(servers.values()))
            for name, server in servers.items():
                expect(server, headers, 200)
                if VARIANTS[name].keystead and VARIANTS[name].base:
                    expect(server, {}, 401)  # refused without a usage record: no key
                    answered += 1  # the 200 above
            for name, server in servers.items():  # warm up; each writer starts on its first batch
                run = wrk(server.url(), lua, warmup, args.connections, args.threads)
                if VARIANTS[name].keystead and VARIANTS[name].base:
                    answered += run.requests
                    found = wait_for_children(server.pid, 1, 60, f"{name}'s usage writer")
                    for writer in found:
                        move_to_core(writer, CLIENT_CORE)
                    writers[name] = found
            for _ in range(rounds):
                for name, server in servers.items():
                    watch = {"serving": fixed([server.pid])}
                    if name in writers:
                        watch["writer"] = fixed(writers[name])
                    run = wrk(
                        server.url(), lua, seconds, args.connections, args.threads, watch=watch
                    )
                    results[name].append(run)
                    if VARIANTS[name].keystead and VARIANTS[name].base:
                        answered += run.requests
            for name, server in servers.items():
                expect(server, headers, 200)
                answered += 1 if VARIANTS[name].keystead and VARIANTS[name].base else 0
        finally:
            for server in servers.values():
                stop(server)
        written = rows_written(tmp / "keystead.db")

    report(args, results, seconds, rounds, written, answered)
    print(f"\nwall time {time.monotonic() - started:.0f} s")
    write_json(
        args.json,
        {
            "results": {k: [asdict(r) for r in v] for k, v in results.items()},
            "usage_rows": written,
            "answered_protected": answered,
        },
    )
    if any(r.non_2xx for runs in results.values() for r in runs):
        sys.exit("some answers were not 200: see the non-2xx column")


def report(
    args: argparse.Namespace,
    results: dict[str, list[Run]],
    seconds: int,
    rounds: int,
    written: int,
    answered: int,
) -> None:
    print_table(
        "middleware_http: one endpoint, bare vs protected by KeysteadMiddleware (embedded)",
        [
            ("run", ""),
            *machine_rows(),
            ("server", "uvicorn, httptools + uvloop, 1 worker, taskset core 0"),
            ("load", f"wrk {args.threads} threads, {args.connections} connections, core 1"),
            ("key", "cached, 1 rate limit (never refuses), usage on: writer process on core 1"),
            ("runs", f"{rounds} x {seconds:g} s per server, alternating; median run shown"),
            ("mode", "quick" if args.quick else "full"),
        ],
        right=False,
    )
    rows: list[tuple[str, ...]] = [
        (
            "server",
            "req/s",
            "all runs",
            "p50",
            "p99",
            "kept",
            "serving CPU/req",
            "kept (CPU)",
            "writer CPU/req",
            "non-2xx",
        )
    ]
    rps = {name: median([r.rps for r in runs]) for name, runs in results.items()}
    serving = {
        name: median([r.cpu_per_request("serving") for r in runs]) for name, runs in results.items()
    }
    for name, variant in VARIANTS.items():
        runs = results[name]
        base = variant.base
        recorded = base is not None and variant.keystead
        writer = median([r.cpu_per_request("writer") for r in runs]) if recorded else 0.0
        rows.append(
            (
                variant.label,
                f"{rps[name]:,.0f}",
                " ".join(f"{r.rps:,.0f}" for r in runs),
                f"{median([r.p50_ms for r in runs]):.2f} ms",
                f"{median([r.p99_ms for r in runs]):.2f} ms",
                f"{rps[name] / rps[base]:.0%}" if base else "",
                fmt_us(serving[name]),
                f"{serving[base] / serving[name]:.0%}" if base else "",
                fmt_us(writer) if recorded else "",
                errors_of(runs),
            )
        )
    print_table(f"results (target: kept >= {TARGET_KEPT:.0%})", rows)
    verdicts = [
        f"{VARIANTS[name].label}: {rps[name] / rps[v.base]:.0%} "
        f"{'met' if rps[name] / rps[v.base] >= TARGET_KEPT else 'NOT met'}"
        for name, v in VARIANTS.items()
        if v.base and v.keystead and name not in PROBES
    ]
    print("\ntarget kept >= 50%: " + "; ".join(verdicts))
    status = "all recorded" if written >= answered else f"{answered - written:,} MISSING"
    print(
        f"usage rows in the store afterwards: {written:,} for {answered:,} requests "
        f"the protected servers answered (wrk's count): {status}"
    )


if __name__ == "__main__":
    main()
