"""What Keystead's embedded ASGI middleware costs a real endpoint, served as a user serves it.

    .venv/bin/python bench/middleware_http.py            # full run (about 5 min)
    .venv/bin/python bench/middleware_http.py --quick    # smoke run (about 1 min)
    .venv/bin/python bench/middleware_http.py --only starlette   # one framework's servers
    .venv/bin/python bench/middleware_http.py --variant KEYSTEAD_USAGE_WRITER=process
    .venv/bin/python bench/middleware_http.py --breakdown  # plus three probes

The same endpoint (``GET /api/data`` answering ``{"data": [1, 2, 3]}``,
bench/middleware_app.py) in Starlette and in FastAPI, each served bare and
protected by ``KeysteadMiddleware(guard=Embedded())`` on its defaults, plus the
FastAPI route with ``Depends(require_key("data.read"))`` as docs/integrations.md
writes it. Every server is started the way a user starts an app:
``python -m uvicorn --factory middleware_app:<app> --host 127.0.0.1 --port N``,
uvicorn's defaults otherwise (one worker, uvloop and httptools when installed,
its access log on, log level info). Keystead's settings are its defaults: the
protected servers get only ``KEYSTEAD_DATABASE_URL`` and ``KEYSTEAD_SECRET_FILE``
(a SQLite store of 1,000 keys, bootstrapped in a temp directory), so usage is
written by the serving process (``KEYSTEAD_USAGE_WRITER=inline``, the default
outside ``keystead serve``). The key sent is cached after the first request and
has one rate limit (10^9 per second: never refuses).

Each server and every process it starts run on core 0, wrk on core 1
(``Authorization: Bearer <key>`` to every server; the bare apps ignore it).
Runs alternate between the servers (rounds x servers). CPU per request is the
user + system time of every process of the server (itself and its children,
from /proc) over the requests answered, summed over the runs; the floor (issue:
fast by default) is bare Starlette's CPU per request over protected Starlette's
>= 0.60, both on defaults. req/s and p50/p99 are the median run's.

Settings that are not defaults are labelled: the same pair under
``uvicorn --no-access-log`` (on by default; its line per request costs both
servers alike), and ``--variant K=V[,K=V]``: protected Starlette with that
environment (``KEYSTEAD_USAGE_WRITER=process``, or ``PYTHONPATH=DIR/src`` for
another version of the code), against bare Starlette on defaults.
``--breakdown`` adds three Starlette probes: a middleware that only adds two
fixed rate-limit headers; ``KeysteadMiddleware`` with a guard that answers a
precomputed check and completes nothing; the protected app with
``KEYSTEAD_GC_TUNING=false``.

Checks: every answer of every run is a 200 (wrk's non-2xx count), a request
without a key gets a 401 from each protected server, and the usage rows in the
store afterwards cover every request the protected servers answered.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from _common import BENCH_DIR, machine_rows, median, print_table, require_tool
from _serving import (
    Run,
    Server,
    bootstrap_store,
    cpu_per_request,
    descendants,
    errors_of,
    expect,
    fmt_us,
    header_lua,
    load_average,
    rows_written,
    server_env,
    start,
    stop,
    tree,
    wait_ready,
    write_json,
    wrk,
)
from http_verify import SERVER_CORE, free_port, parse_variant

CPU_FLOOR = 0.60
"""bare Starlette's CPU per request over protected Starlette's, all processes, defaults"""
QUIET = ("--no-access-log",)


@dataclass(frozen=True)
class Variant:
    label: str
    factory: str
    base: str | None  # the bare variant it is compared with; None: it is bare
    keystead: bool = True  # verifies and records usage (a probe does neither)
    env: Mapping[str, str] = field(default_factory=dict)  # settings changed from the defaults
    uvicorn: tuple[str, ...] = ()  # uvicorn options beyond its defaults


VARIANTS = {
    "starlette": Variant("Starlette, bare", "middleware_app:starlette_bare", None),
    "starlette_ks": Variant(
        "Starlette + KeysteadMiddleware", "middleware_app:starlette_protected", "starlette"
    ),
    "starlette_quiet": Variant(
        "Starlette, bare; uvicorn --no-access-log",
        "middleware_app:starlette_bare",
        None,
        uvicorn=QUIET,
    ),
    "starlette_ks_quiet": Variant(
        "Starlette + KeysteadMiddleware; uvicorn --no-access-log",
        "middleware_app:starlette_protected",
        "starlette_quiet",
        uvicorn=QUIET,
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


def user_uvicorn(factory: str, port: int, options: Sequence[str] = ()) -> list[str]:
    """uvicorn as a user runs an app: the app, host and port; its defaults otherwise."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--app-dir",
        str(BENCH_DIR),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *options,
    ]


def recorded(variant: Variant) -> bool:
    """Whether a server's answers become usage rows."""
    return variant.keystead and variant.base is not None


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
    parser.add_argument(
        "--variant",
        type=parse_variant,
        action="append",
        default=[],
        help="also serve protected Starlette with these settings (environment), "
        "e.g. KEYSTEAD_USAGE_WRITER=process",
    )
    args = parser.parse_args()
    require_tool("wrk", "apt-get update && apt-get install -y wrk")
    require_tool("taskset", "apt-get install -y util-linux")
    seconds, rounds, warmup = (3, 1, 1) if args.quick else (args.seconds, args.rounds, 3)
    started = time.monotonic()
    args.load = load_average()
    if args.breakdown:
        VARIANTS.update(PROBES)
    for index, changed in enumerate(args.variant):
        label = ",".join(f"{k}={v}" for k, v in changed.items())
        VARIANTS[f"variant_{index}"] = Variant(
            f"Starlette + KeysteadMiddleware; {label}",
            "middleware_app:starlette_protected",
            "starlette",
            env=changed,
        )
    if args.only:
        for name in [n for n, v in VARIANTS.items() if not (v.base or n).startswith(args.only)]:
            del VARIANTS[name]

    with tempfile.TemporaryDirectory(prefix="ks-middleware-http-") as tmp_name:
        tmp = Path(tmp_name)
        env, key = asyncio.run(bootstrap_store(tmp))
        env.pop("KEYSTEAD_LOG_LEVEL")  # a user's app on Keystead's defaults
        headers = {"Authorization": f"Bearer {key}"}
        lua = header_lua(tmp / "get.lua", headers)
        servers: dict[str, Server] = {}
        results: dict[str, list[Run]] = {name: [] for name in VARIANTS}
        answered = 0  # by the protected servers, warm-ups and checks included
        try:
            for name, variant in VARIANTS.items():
                port = free_port()
                environ = server_env({**env, **variant.env} if variant.keystead else {})
                argv = user_uvicorn(variant.factory, port, variant.uvicorn)
                servers[name] = start(name, argv, port, environ, tmp, SERVER_CORE)
            wait_ready(list(servers.values()))
            for name, server in servers.items():
                expect(server, headers, 200)
                if recorded(VARIANTS[name]):
                    expect(server, {}, 401)  # refused without a usage record: no key
                    answered += 1  # the 200 above
            for name, server in servers.items():  # warm up: caches, allocator, the writer
                run = wrk(server.url(), lua, warmup, args.connections, args.threads)
                answered += run.requests if recorded(VARIANTS[name]) else 0
            for _ in range(rounds):
                for name, server in servers.items():
                    watch: dict[str, Callable[[], Sequence[int]]] = {
                        "all": functools.partial(tree, server.pid),
                        "children": functools.partial(descendants, server.pid),
                    }
                    run = wrk(
                        server.url(), lua, seconds, args.connections, args.threads, watch=watch
                    )
                    results[name].append(run)
                    answered += run.requests if recorded(VARIANTS[name]) else 0
            for name, server in servers.items():
                expect(server, headers, 200)
                answered += 1 if recorded(VARIANTS[name]) else 0
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
            ("server", "python -m uvicorn --factory APP --host --port: uvicorn's defaults"),
            ("keystead", "Embedded() on its defaults: SQLite, usage written inline"),
            ("cores", "each server and its children on core 0 (taskset); wrk on core 1"),
            ("load", f"wrk {args.threads} threads, {args.connections} connections"),
            ("key", "cached, permission data.read, 1 rate limit (never refuses)"),
            ("runs", f"{rounds} x {seconds:g} s per server, alternating; median run shown"),
            ("CPU", "per request: user + system of the server and its children, all runs"),
            ("load avg", f"{args.load} at the start; {load_average()} at the end"),
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
            "CPU/req",
            "children",
            "CPU ratio (bare / this)",
            "req/s ratio",
            "non-2xx",
        )
    ]
    rps = {name: median([r.rps for r in runs]) for name, runs in results.items()}
    cpu = {name: cpu_per_request(runs, "all") for name, runs in results.items()}
    for name, variant in VARIANTS.items():
        runs = results[name]
        base = variant.base
        rows.append(
            (
                variant.label,
                f"{rps[name]:,.0f}",
                " ".join(f"{r.rps:,.0f}" for r in runs),
                f"{median([r.p50_ms for r in runs]):.2f} ms",
                f"{median([r.p99_ms for r in runs]):.2f} ms",
                fmt_us(cpu[name]),
                fmt_us(cpu_per_request(runs, "children")),
                f"{cpu[base] / cpu[name]:.2f}" if base else "",
                f"{rps[name] / rps[base]:.2f}" if base else "",
                errors_of(runs),
            )
        )
    print_table("results (ratios: against the bare app of the same server settings)", rows)
    verdicts = [
        f"{VARIANTS[name].label}: {cpu[v.base] / cpu[name]:.3f} "
        f"{'met' if cpu[v.base] / cpu[name] >= CPU_FLOOR else 'NOT met'}"
        for name, v in VARIANTS.items()
        if v.base and v.keystead and name not in PROBES
    ]
    print(f"\nfloor: bare CPU/request over protected >= {CPU_FLOOR} (Starlette, defaults)")
    for verdict in verdicts:
        print(f"  {verdict}")
    status = "all recorded" if written >= answered else f"{answered - written:,} MISSING"
    print(
        f"usage rows in the store afterwards: {written:,} for {answered:,} requests "
        f"the protected servers answered (wrk's count): {status}"
    )


if __name__ == "__main__":
    main()
