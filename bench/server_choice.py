"""Which HTTP server for ``keystead serve``: uvicorn (httptools + uvloop, what ships)
against granian (a Rust HTTP server for ASGI), for Keystead's verify and a bare app.

    .venv/bin/python bench/server_choice.py            # full run (about 5 min)
    .venv/bin/python bench/server_choice.py --quick    # smoke run (about 1 min)

granian is not a dependency of Keystead: it is installed into ``bench/.peers/granian``
(``peer_python``) and runs on this interpreter with that venv's packages appended to
``sys.path`` (the project's own packages, uvloop among them, come first).

One SQLite store (``keystead init``, 1,000 keys through the HTTP API, as
bench/http_verify.py seeds it) is served by:

* ``keystead serve`` itself (bench/tokens.py's ``serve``): uvicorn with Keystead's
  protocol (head deadline, connection bound, ``LIST`` rewrite) and its log config;
* granian on the same app factory (``keystead.http.app:create_app``) with the
  environment ``keystead serve`` sets (``KEYSTEAD_USAGE_WRITER=process``, the same
  log config through ``--log-config``, the head deadline as granian's
  ``--http1-header-read-timeout``): ``--interface asgi --factory``, one worker, one
  runtime thread, its default loop (``auto``: uvloop here, as rloop is not
  installed), and again with ``--loop asyncio``.

bench/hello_app.py, the bare ASGI app, is served by plain uvicorn (as
bench/http_verify.py does) and by granian with the same options, so each server's
own overhead is seen. Every server and its children (granian's worker, the usage
writer) on core 0, wrk on core 1, in alternating rounds. CPU per request is the
user + system time of the server and all its descendants over the requests answered.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from _common import (
    BENCH_DIR,
    fmt_ratio,
    fmt_us,
    machine_rows,
    peer_python,
    print_table,
    require_tool,
    wait_until,
)
from _verify_layouts import Server
from http_verify import (
    LUA,
    SERVER_CORE,
    check_verifies,
    free_port,
    pinned,
    ready,
    seed,
    start_server,
    stop,
    wrk,
)
from peers_http import purelib
from usage_http import children, cpu_seconds

from keystead.cli.serve import APP_FACTORY, log_config
from keystead.config import Settings
from tokens import serve

GRANIAN = ["granian>=2,<3"]
GRANIAN_BOOT = (
    "import sys; sys.path.append(sys.argv.pop(1)); sys.argv[0] = 'granian'; "
    "from granian.cli import entrypoint; entrypoint()"
)
LAYOUT = "one core"
"""Server._verify_layouts' key for this bench's only layout: all on core 0."""
VERIFY = ("keystead serve (uvicorn)", "granian", "granian --loop asyncio")
HELLO = ("hello, uvicorn", "hello, granian", "hello, granian --loop asyncio")


def family_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and every descendant still running: granian's usage
    writer is a child of its worker, a grandchild of the process started."""
    try:
        own = cpu_seconds(pid)
    except FileNotFoundError:  # ended meanwhile
        return 0.0
    return own + sum(family_cpu(child) for child in children(pid))


def granian_argv(
    peer_path: str, target: str, port: int, log_file: Path, header_ms: int, loop: str
) -> list[str]:
    return [
        sys.executable,
        "-c",
        GRANIAN_BOOT,
        peer_path,
        "--interface",
        "asgi",
        "--factory",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--runtime-threads",
        "1",
        "--loop",
        loop,
        "--no-access-log",
        "--log-level",
        "warning",
        "--log-config",
        str(log_file),
        "--http1-header-read-timeout",
        str(header_ms),
    ]


def start_granian(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        pinned(SERVER_CORE, argv),
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def granian_version(peer: Path) -> str:
    code = "from importlib.metadata import version; print(version('granian'))"
    done = subprocess.run([str(peer), "-c", code], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (all on core 1)")
    args = parser.parse_args()
    require_tool("wrk", "apt-get update && apt-get install -y wrk")
    require_tool("taskset", "apt-get install -y util-linux")
    seconds, rounds, warmup = (3, 1, 1) if args.quick else (args.seconds, args.rounds, 3)
    peer = peer_python("granian", GRANIAN)
    peer_path = purelib(peer)

    with tempfile.TemporaryDirectory(prefix="ks-server-choice-") as tmp_name:
        tmp = Path(tmp_name)
        servers: list[Server] = []
        try:
            servers = start_all(tmp, peer_path)
            for server in servers:  # caches, allocator; the writer starts on a first batch
                wrk(server.url, server.lua, warmup, args.connections, args.threads)
            for _ in range(rounds):
                for server in servers:
                    before = family_cpu(server.process.pid)
                    run = wrk(server.url, server.lua, seconds, args.connections, args.threads)
                    tree = family_cpu(server.process.pid) - before
                    server.runs.setdefault(LAYOUT, []).append((run, tree, 0.0))
        finally:
            for server in servers:
                stop(server.process)
    report(args, {s.label: s for s in servers}, seconds, rounds, granian_version(peer))


def start_all(tmp: Path, peer_path: str) -> list[Server]:
    """Every server of the comparison, ready and answering as expected."""
    servers: list[Server] = []
    home = tmp / "keystead"
    home.mkdir()
    process, url, root_key = serve(home)
    key = seed(url, root_key)
    body = json.dumps({"key": key, "ip": "10.1.2.3", "permissions": "documents.read"})
    verify_lua = tmp / "verify.lua"
    verify_lua.write_text(LUA % (json.dumps(body), root_key))
    bare_lua = tmp / "bare.lua"
    bare_lua.write_text(LUA % (json.dumps("{}"), "none"))
    check_verifies(url, body, root_key)
    servers.append(Server(VERIFY[0], process, f"{url}/v1/keys/verify", verify_lua))

    port = free_port()
    bare = start_server("hello_app:create_app", port, {}, tmp, BENCH_DIR)
    servers.append(Server(HELLO[0], bare, f"http://127.0.0.1:{port}/", bare_lua))
    wait_until(functools.partial(ready, port, bare), 60, "the bare server")

    # what `keystead serve` puts in the environment and hands uvicorn, for granian
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    store = {
        "KEYSTEAD_DATABASE_URL": f"sqlite:///{home / 'keystead.db'}",
        "KEYSTEAD_SECRET_FILE": str(home / "keystead.secret"),
        "KEYSTEAD_USAGE_WRITER": "process",
    }
    settings = Settings(
        _env_file=None, database_url=store["KEYSTEAD_DATABASE_URL"], secret_file=home / "x"
    )  # the defaults `keystead serve` runs on here (its environment has no other setting)
    log_file = tmp / "log-config.json"
    level, as_json = settings.log_level.lower(), settings.log_format == "json"
    log_file.write_text(json.dumps(log_config(level, json=as_json)))
    header_ms = round(settings.header_timeout_s * 1000)
    for label, hello, loop in zip(VERIFY[1:], HELLO[1:], ("auto", "asyncio"), strict=True):
        port = free_port()
        env = {**base, **store, "KEYSTEAD_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        argv = granian_argv(peer_path, APP_FACTORY, port, log_file, header_ms, loop)
        process = start_granian(argv, env, home)
        servers.append(
            Server(label, process, f"http://127.0.0.1:{port}/v1/keys/verify", verify_lua)
        )
        wait_until(functools.partial(ready, port, process), 60, label)
        check_verifies(f"http://127.0.0.1:{port}", body, root_key)
        port = free_port()
        argv = granian_argv(peer_path, "hello_app:create_app", port, log_file, header_ms, loop)
        process = start_granian(argv, {**base, "PYTHONPATH": str(BENCH_DIR)}, tmp)
        servers.append(Server(hello, process, f"http://127.0.0.1:{port}/", bare_lua))
        wait_until(functools.partial(ready, port, process), 60, hello)
        answer = httpx.post(f"http://127.0.0.1:{port}/", content=b"{}", timeout=5)
        if answer.status_code != 200:
            raise RuntimeError(f"{hello} answered {answer.status_code}")
    return servers


def report(
    args: argparse.Namespace,
    servers: dict[str, Server],
    seconds: int,
    rounds: int,
    granian: str,
) -> None:
    import uvicorn

    print_table(
        "server_choice: uvicorn (keystead serve) vs granian, verify and a bare ASGI app",
        [
            ("run", ""),
            *machine_rows(),
            ("servers", f"uvicorn {uvicorn.__version__} (httptools, uvloop); granian {granian}"),
            ("granian", "--interface asgi --factory --workers 1 --runtime-threads 1"),
            ("load", f"wrk {args.threads} threads, {args.connections} connections, core 1"),
            ("runs", f"{rounds} x {seconds} s per server, alternating; servers on core 0"),
            ("CPU", "per request: user + system of the server and all its descendants"),
            ("mode", "quick" if args.quick else "full"),
        ],
        right=False,
    )
    rows = [("server", "best req/s", "p50", "p99", "CPU/req", "non-2xx", "errors", "each run")]
    for label in (*VERIFY, *HELLO):
        server = servers[label]
        best = server.best(LAYOUT)
        runs = server.runs[LAYOUT]
        errors = sorted({r.socket_errors for r, _, _ in runs if r.socket_errors})
        rows.append(
            (
                label,
                f"{best.rps:,.0f}",
                f"{best.p50_ms:.2f} ms",
                f"{best.p99_ms:.2f} ms",
                fmt_us(server.cpu_per_request(LAYOUT, seconds)),
                str(sum(r.non_2xx for r, _, _ in runs)),
                "; ".join(errors) or "-",
                " ".join(f"{r.rps / 1000:.1f}k" for r, _, _ in runs),
            )
        )
    print_table("POST /v1/keys/verify and the bare hello (best run's req/s, p50, p99)", rows)

    def ratios(a: str, b: str) -> tuple[str, str]:
        rps = servers[a].best(LAYOUT).rps / servers[b].best(LAYOUT).rps
        cpu = servers[b].cpu_per_request(LAYOUT, seconds) / servers[a].cpu_per_request(
            LAYOUT, seconds
        )
        return fmt_ratio(rps), fmt_ratio(cpu)

    def compare(what: str, a: str, b: str) -> tuple[str, str, str]:
        return (what, *ratios(a, b))

    print_table(
        "Ratios (req/s a/b; CPU per request b/a: above 1 means a is cheaper)",
        [
            ("a / b", "req/s", "CPU/req"),
            compare("verify: granian / uvicorn", VERIFY[1], VERIFY[0]),
            compare("verify: granian asyncio / uvicorn", VERIFY[2], VERIFY[0]),
            compare("hello: granian / uvicorn", HELLO[1], HELLO[0]),
            compare("hello: granian asyncio / uvicorn", HELLO[2], HELLO[0]),
            compare("uvicorn: verify / hello", VERIFY[0], HELLO[0]),
            compare("granian: verify / hello", VERIFY[1], HELLO[1]),
            compare("granian asyncio: verify / hello", VERIFY[2], HELLO[2]),
        ],
    )


if __name__ == "__main__":
    main()
