"""``POST /v1/keys/verify`` on ``keystead serve`` as it ships, against a bare ASGI app.

    .venv/bin/python bench/http_verify.py            # full run (about 3 min)
    .venv/bin/python bench/http_verify.py --quick    # smoke run (about 40 s)
    .venv/bin/python bench/http_verify.py --variant KEYSTEAD_ACCESS_LOG=all

Keystead is what a user starts: ``keystead init`` then ``keystead serve`` on its
default settings (SQLite, the usage writer process, the access log as shipped),
through bench/tokens.py's ``serve``. The baseline is bench/hello_app.py under plain
uvicorn (httptools + uvloop, no access log): it reads the request body and answers a
small JSON body. The request verifies a cached key with an IP restriction and
permissions, with an IP and a permission query (1,000 keys in the store).

Two layouts, each measured for both servers in alternating rounds:

* ``one core``: the server and every child (the usage writer) on core 0, wrk on core 1;
* ``a core each``: the server on core 0, its children on core 1 beside wrk.

Beside req/s and p50/p99, CPU per request is the CPU time of every process of the
server (itself and its children, from /proc) over the requests answered. The floors
(issue: fast by default): bare CPU per request over Keystead's >= 0.40, and Keystead's
req/s >= 0.40x bare's with a core each. ``--variant K=V[,K=V]`` adds a server with
changed settings, measured in the same rounds beside the defaults (an environment
variable such as ``PYTHONPATH=/path/to/other/src`` measures another version of the
code).
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
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from _common import (
    BENCH_DIR,
    machine_rows,
    pin_to_core,
    require_tool,
    wait_until,
)

from keystead.config import Settings
from keystead.service import Keystead

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


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def seed(url: str, root_key: str) -> str:
    """One API and 1,000 keys with permissions and an IP restriction, through the
    HTTP API; the key the bench verifies."""
    admin = {"Authorization": f"Bearer {root_key}"}
    spec = {"permissions": ["documents.read", "documents.write"], "restrictions": RESTRICTIONS}
    with httpx.Client(base_url=url, headers=admin, timeout=60) as client:
        api = client.post("/v1/apis", json={"name": "bench", "prefix": "bench"})
        api.raise_for_status()
        keys = [{"api_id": api.json()["id"], **spec}] * 1000
        created = client.post("/v1/keys/batch", json={"keys": keys})
        created.raise_for_status()
    key: str = created.json()["items"][500]["key"]
    return key


def check_verifies(url: str, body: str, root_key: str) -> None:
    answer = httpx.post(
        f"{url}/v1/keys/verify",
        content=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {root_key}"},
        timeout=10,
    )
    if answer.status_code != 200 or answer.json().get("valid") is not True:
        raise RuntimeError(
            f"the verify request does not verify: {answer.status_code} {answer.text}"
        )


def parse_variant(text: str) -> dict[str, str]:
    pairs = [part.partition("=") for part in text.split(",") if part]
    if not pairs or any(not sep or not name for name, sep, _ in pairs):
        raise argparse.ArgumentTypeError(f"a variant is NAME=VALUE[,NAME=VALUE]: {text!r}")
    return {name: value for name, _, value in pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (all on core 1)")
    parser.add_argument("--layout", choices=["one core", "a core each", "both"], default="both")
    parser.add_argument(
        "--variant",
        type=parse_variant,
        action="append",
        default=[],
        help="also serve with these settings (environment), e.g. KEYSTEAD_ACCESS_LOG=all",
    )
    parser.add_argument("--no-breakdown", action="store_true", help="skip the in-process costs")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    require_tool("wrk", "apt-get update && apt-get install -y wrk")
    require_tool("taskset", "apt-get install -y util-linux")
    # imported here: they import this module
    from _verify_layouts import LAYOUTS, Server, place_children, report
    from usage_http import children, cpu_seconds
    from vault_read import tree_cpu

    from tokens import serve

    seconds = 3 if args.quick else args.seconds
    rounds = 1 if args.quick else args.rounds
    warmup = 1 if args.quick else 3
    layouts = list(LAYOUTS) if args.layout == "both" else [args.layout]
    variants: dict[str, dict[str, str]] = {"keystead serve, defaults": {}}
    for changed in args.variant:
        variants["keystead serve, " + ",".join(f"{k}={v}" for k, v in changed.items())] = changed

    with tempfile.TemporaryDirectory(prefix="ks-http-bench-") as tmp_name:
        tmp = Path(tmp_name)
        servers: list[Server] = []
        first: tuple[Path, str, str, str] | None = None
        try:
            bare_lua = tmp / "bare.lua"
            bare_lua.write_text(LUA % (json.dumps("{}"), "none"))
            port = free_port()
            bare = start_server("hello_app:create_app", port, {}, tmp, BENCH_DIR)
            servers.append(Server("bare ASGI hello", bare, f"http://127.0.0.1:{port}/", bare_lua))
            wait_until(functools.partial(ready, port, bare), 60, "the bare server")
            for index, (label, settings) in enumerate(variants.items()):
                home = tmp / f"keystead-{index}"
                home.mkdir()
                process, url, root_key = serve(home, settings)
                key = seed(url, root_key)
                body = json.dumps({"key": key, "ip": "10.1.2.3", "permissions": "documents.read"})
                lua = home / "verify.lua"
                lua.write_text(LUA % (json.dumps(body), root_key))
                check_verifies(url, body, root_key)
                servers.append(Server(label, process, f"{url}/v1/keys/verify", lua))
                first = first or (home, root_key, key, body)
            for server in servers:  # caches, allocator; the writer starts on a first batch
                wrk(server.url, server.lua, warmup, args.connections, args.threads)
            for _ in range(rounds):
                for layout in layouts:
                    for server in servers:
                        pid = server.process.pid
                        place_children(pid, layout, children)
                        before, own = tree_cpu(pid), cpu_seconds(pid)
                        run = wrk(server.url, server.lua, seconds, args.connections, args.threads)
                        tree = tree_cpu(pid) - before
                        child = tree - (cpu_seconds(pid) - own)
                        server.runs.setdefault(layout, []).append((run, tree, child))
        finally:
            for server in servers:
                stop(server.process)
        report(args, servers, layouts, seconds, rounds)
        if first is not None and not args.no_breakdown:
            from _verify_breakdown import asgi_breakdown, report_breakdown

            home, root_key, key, body = first
            env = {
                "KEYSTEAD_DATABASE_URL": f"sqlite:///{home / 'keystead.db'}",
                "KEYSTEAD_SECRET_FILE": str(home / "keystead.secret"),
            }
            pin_to_core(SERVER_CORE)
            steps = asyncio.run(asgi_breakdown(env, root_key, key, body, 0.2 if args.quick else 1))
            layout = layouts[0]
            report_breakdown(
                steps,
                servers[0].cpu_per_request(layout, seconds),
                servers[1].cpu_per_request(layout, seconds),
            )
    if args.json:
        payload = {
            "machine": dict(machine_rows()),
            "seconds": seconds,
            "runs": {
                s.label: {
                    layout: [{**asdict(r), "cpu_s": cpu, "children_cpu_s": c} for r, cpu, c in runs]
                    for layout, runs in s.runs.items()
                }
                for s in servers
            },
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
