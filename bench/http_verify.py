"""``POST /v1/keys/verify`` over HTTP on loopback, against a bare ASGI app.

    .venv/bin/python bench/http_verify.py            # full run (about 2 min)
    .venv/bin/python bench/http_verify.py --quick    # smoke run (about 30 s)

Both servers are uvicorn, one worker, httptools + uvloop, the same options,
pinned to core 0; wrk is pinned to core 1. The Keystead app serves a SQLite
store bootstrapped in a temp directory; the key verified is cached, has an IP
restriction and permissions, and the request carries an IP and a permission
query. The baseline (bench/hello_app.py) reads the same request body and
answers a small JSON body. Runs alternate (bare, keystead, bare, keystead ...)
so both see the same machine; the ratio is keystead req/s over bare req/s.
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
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    ROOT,
    fmt_ratio,
    fmt_us,
    machine_rows,
    pin_to_core,
    print_table,
    require_tool,
    wait_until,
)

from keystead.config import Settings
from keystead.service import Keystead

TARGET_SHARE = 0.40
APP_MODULE = ROOT / "src" / "keystead" / "http" / "app.py"
RESTRICTIONS = {"ips": {"allow": ["10.0.0.0/8", "192.168.0.0/16"]}}
SERVER_CORE = 0
CLIENT_CORE = 1
LUA = """
wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
"""


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: str | None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(core: int, argv: list[str]) -> list[str]:
    if shutil.which("taskset") is None:
        return argv
    return ["taskset", "-c", str(core), *argv]


async def bootstrap(tmp: Path) -> tuple[dict[str, str], str, str]:
    """A fresh SQLite store: root key, one API, 1,000 keys. Returns the server
    environment, the root key and the key to verify."""
    secret_file = tmp / "keystead.secret"
    secret_file.write_text(secrets.token_hex(32) + "\n")
    secret_file.chmod(0o600)
    database_url = f"sqlite:///{tmp / 'keystead.db'}"
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        secret_file=secret_file,
    )
    async with await Keystead.open(settings=settings) as ks:
        boot = await ks.workspaces.init()
        principal = await ks.workspaces.local_operator()
        api = await ks.apis.create(principal, name="bench", prefix="bench")
        spec = {
            "api_id": api.id,
            "permissions": ["documents.read", "documents.write"],
            "restrictions": RESTRICTIONS,
        }
        created = await ks.keys.create_many(principal, [spec] * 1000)
    env = {
        "KEYSTEAD_DATABASE_URL": database_url,
        "KEYSTEAD_SECRET_FILE": str(secret_file),
        "KEYSTEAD_LOG_LEVEL": "warning",
    }
    return env, boot.root_key.plaintext, created[500].plaintext


def uvicorn_argv(
    target: str,
    port: int,
    *,
    workers: int = 1,
    python: str = sys.executable,
    app_dir: Path | None = BENCH_DIR,
) -> list[str]:
    """uvicorn serving the factory ``target`` (a bench/*_app.py module by default;
    ``app_dir=None`` for an installed one) the way every bench serves: loopback,
    uvloop + httptools, no access log."""
    argv = [python, "-m", "uvicorn", "--factory", target]
    if app_dir is not None:
        argv += ["--app-dir", str(app_dir)]
    return [
        *argv,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def start_server(
    target: str, port: int, env: dict[str, str], cwd: Path, app_dir: Path | None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        pinned(SERVER_CORE, uvicorn_argv(target, port, app_dir=app_dir)),
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def ready(port: int, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        stderr = process.stderr.read().decode() if process.stderr else ""
        raise RuntimeError(f"the server on port {port} exited:\n{stderr}")
    try:
        post(port, "/", b"{}", {"Content-Type": "application/json"})
    except OSError:
        return False
    return True


def wrk(url: str, lua: Path, seconds: int, connections: int, threads: int) -> Result:
    argv = wrk_argv(url, lua, seconds, connections, threads)
    done = subprocess.run(
        pinned(CLIENT_CORE, argv),
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    return parse_wrk(done.stdout)


def wrk_argv(url: str, lua: Path, seconds: int, connections: int, threads: int) -> list[str]:
    """wrk's command line: the request from ``lua``, latency percentiles on."""
    return [
        "wrk",
        "--threads",
        str(threads),
        "--connections",
        str(connections),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "5s",
        "--latency",
        "--script",
        str(lua),
        url,
    ]


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(out: str) -> Result:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    if rps is None or p50 is None or p99 is None:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:\s+(.*)", out)
    return Result(
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket_errors.group(1).strip() if socket_errors else None,
    )


def wait_for_app_module(timeout_s: float) -> None:
    if APP_MODULE.exists():
        return
    print(f"waiting up to {timeout_s:.0f} s for {APP_MODULE.relative_to(ROOT)} ...", flush=True)
    wait_until(APP_MODULE.exists, timeout_s, str(APP_MODULE))


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--seconds", type=int, default=12, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (all on core 1)")
    parser.add_argument("--wait-for-app", type=float, default=1800, help="seconds to poll")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    require_tool("wrk", "apt-get update && apt-get install -y wrk")
    if shutil.which("taskset") is None:
        print("taskset not found (util-linux): servers and wrk will share the cores")
    wait_for_app_module(args.wait_for_app)
    seconds = 3 if args.quick else args.seconds
    rounds = 1 if args.quick else args.rounds
    warmup = 1 if args.quick else 3

    with tempfile.TemporaryDirectory(prefix="ks-http-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env, root_key, key = asyncio.run(bootstrap(tmp))
        body = json.dumps({"key": key, "ip": "10.1.2.3", "permissions": "documents.read"})
        lua = tmp / "verify.lua"
        lua.write_text(LUA % (json.dumps(body), root_key))
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {root_key}"}
        ports = {"bare": free_port(), "keystead": free_port()}
        servers: dict[str, subprocess.Popen[bytes]] = {}
        results: dict[str, list[Result]] = {"bare": [], "keystead": []}
        try:
            servers["bare"] = start_server(
                "hello_app:create_app", ports["bare"], {}, tmp, BENCH_DIR
            )
            servers["keystead"] = start_server(
                "keystead.http.app:create_app", ports["keystead"], env, tmp, None
            )
            for name, process in servers.items():
                wait_until(functools.partial(ready, ports[name], process), 60, f"{name} server")
            status, answer = post(ports["keystead"], "/v1/keys/verify", body.encode(), headers)
            verdict = json.loads(answer)
            if status != 200 or verdict.get("valid") is not True:
                raise RuntimeError(f"the verify request does not verify: {status} {answer!r}")
            for name in servers:  # warm up: caches, allocator, connection set-up
                wrk(url(ports[name], name), lua, warmup, args.connections, args.threads)
            for _ in range(rounds):
                for name in ("bare", "keystead"):
                    results[name].append(
                        wrk(url(ports[name], name), lua, seconds, args.connections, args.threads)
                    )
            status, answer = post(ports["keystead"], "/v1/keys/verify", body.encode(), headers)
            if status != 200 or json.loads(answer).get("valid") is not True:
                raise RuntimeError(f"verify failed after the load: {status} {answer!r}")
        finally:
            for process in servers.values():
                stop(process)
        pin_to_core(SERVER_CORE)
        steps = asyncio.run(asgi_breakdown(env, root_key, key, body, 0.2 if args.quick else 1.0))

    report(args, results, seconds, rounds)
    report_breakdown(steps, results)
    if args.json:
        payload = {
            "machine": dict(machine_rows()),
            "results": {k: [r.__dict__ for r in v] for k, v in results.items()},
            "in_process_s": dict(steps),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2))


ASGICall = Callable[[], Awaitable[object]]


def asgi_call(app: Any, path: str, body: bytes, root_key: str) -> ASGICall:
    """One request through ``app`` in-process: no server, no socket, no HTTP parsing."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {root_key}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    request = {"type": "http.request", "body": body, "more_body": False}
    disconnect = {"type": "http.disconnect"}
    status: list[int] = []

    async def call() -> object:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return disconnect
            sent = True
            return request

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(dict(scope), receive, send)
        if status.pop() != 200:
            raise RuntimeError(f"{path} did not answer 200 in-process")
        return None

    return call


async def per_call_s(call: ASGICall, seconds: float) -> float:
    """Best seconds per call over a few timed runs of about ``seconds`` each."""
    n = 100
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            await call()
        if time.perf_counter() - t0 > 0.05:
            break
        n *= 2
    n = max(100, int(n * seconds / (time.perf_counter() - t0)))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            await call()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


async def asgi_breakdown(
    env: dict[str, str], root_key: str, key: str, body: str, seconds: float
) -> list[tuple[str, float]]:
    """Per-request cost of each layer, in-process on core 0 (after the servers stop)."""
    import hello_app

    from keystead.core.models import VerifyContext
    from keystead.http.app import create_app
    from keystead.http.auth import authenticate

    settings = Settings(
        _env_file=None,
        database_url=env["KEYSTEAD_DATABASE_URL"],
        secret_file=Path(env["KEYSTEAD_SECRET_FILE"]),
    )
    context = VerifyContext(ip="10.1.2.3", permissions="documents.read")
    header = f"Bearer {root_key}"
    async with await Keystead.open(settings=settings) as ks:
        app = create_app(ks)
        hello = asgi_call(hello_app.create_app(), "/", body.encode(), root_key)
        full = asgi_call(app, "/v1/keys/verify", body.encode(), root_key)

        async def auth_and_verify() -> object:
            principal = await authenticate(ks, header)
            return await ks.verify(key, context, principal=principal)

        async def auth_only() -> object:
            return await authenticate(ks, header)

        async def verify_only() -> object:
            return await ks.verify(key, context)

        return [
            ("bare hello app (ASGI call)", await per_call_s(hello, seconds)),
            ("keystead app (ASGI call)", await per_call_s(full, seconds)),
            ("  root key authenticate + ks.verify", await per_call_s(auth_and_verify, seconds)),
            ("    of which root key authenticate", await per_call_s(auth_only, seconds)),
            ("    of which ks.verify", await per_call_s(verify_only, seconds)),
        ]


def url(port: int, name: str) -> str:
    path = "/v1/keys/verify" if name == "keystead" else "/"
    return f"http://127.0.0.1:{port}{path}"


def report(
    args: argparse.Namespace, results: dict[str, list[Result]], seconds: int, rounds: int
) -> None:
    print_table(
        "http_verify: POST /v1/keys/verify vs a bare ASGI app, uvicorn (1 worker)",
        [
            ("run", ""),
            *machine_rows(),
            ("server", "uvicorn, httptools + uvloop, 1 worker, taskset core 0"),
            ("load", f"wrk {args.threads} threads, {args.connections} connections, core 1"),
            ("runs", f"{rounds} x {seconds} s per server, alternating; best run shown"),
            ("mode", "quick" if args.quick else "full"),
        ],
        right=False,
    )
    best = {name: max(runs, key=lambda r: r.rps) for name, runs in results.items()}
    rows: list[tuple[str, ...]] = [("server", "req/s (best)", "all runs", "p50", "p99", "errors")]
    for name, label in (("bare", "bare ASGI hello"), ("keystead", "keystead verify")):
        r = best[name]
        errors = sum(x.non_2xx for x in results[name])
        socket_errors = [x.socket_errors for x in results[name] if x.socket_errors]
        rows.append(
            (
                label,
                f"{r.rps:,.0f}",
                " ".join(f"{x.rps:,.0f}" for x in results[name]),
                f"{r.p50_ms:.2f} ms",
                f"{r.p99_ms:.2f} ms",
                f"{errors} non-2xx" + (f"; {socket_errors[0]}" if socket_errors else ""),
            )
        )
    share = best["keystead"].rps / best["bare"].rps
    rows.append(
        (
            "ratio keystead / bare",
            f"{share:.0%}",
            " ".join(
                f"{k.rps / b.rps:.0%}"
                for k, b in zip(results["keystead"], results["bare"], strict=True)
            ),
            fmt_ratio(best["keystead"].p50_ms / best["bare"].p50_ms),
            fmt_ratio(best["keystead"].p99_ms / best["bare"].p99_ms),
            f"target >= {TARGET_SHARE:.0%}: {'met' if share >= TARGET_SHARE else 'NOT met'}",
        )
    )
    print_table("results", rows)


def report_breakdown(steps: list[tuple[str, float]], results: dict[str, list[Result]]) -> None:
    per_request = {name: 1 / max(r.rps for r in runs) for name, runs in results.items()}
    rows: list[tuple[str, ...]] = [("per request, one core", "cost")]
    rows.append(("bare hello over HTTP (1 / best req/s)", fmt_us(per_request["bare"])))
    rows.append(("keystead verify over HTTP (1 / best req/s)", fmt_us(per_request["keystead"])))
    rows.append(
        ("difference: what keystead adds", fmt_us(per_request["keystead"] - per_request["bare"]))
    )
    rows += [(name, fmt_us(cost)) for name, cost in steps]
    costs = dict(steps)
    framework = (
        costs["keystead app (ASGI call)"]
        - costs["  root key authenticate + ks.verify"]
        - costs["bare hello app (ASGI call)"]
    )
    rows.append(("  rest: FastAPI/Starlette, middleware, body parse, JSON out", fmt_us(framework)))
    print_table("where the time goes (in-process ASGI calls, no server, best of 5)", rows)


if __name__ == "__main__":
    main()
