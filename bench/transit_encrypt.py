"""Transit ``encrypt`` of a 1 KiB payload over HTTP, through the Vault face, against
a bare ASGI app served the same way.

    .venv/bin/python bench/transit_encrypt.py            # full run (about 2 min)
    .venv/bin/python bench/transit_encrypt.py --quick    # smoke run (about 20 s)

``POST /vault/v1/transit/encrypt/bench`` with ``X-Vault-Token`` (a root key) and
``{"plaintext": <base64 of 1,024 random bytes>}``, as hvac's ``encrypt_data`` sends
it. Keystead runs on its defaults: a SQLite store with a ``file://`` master key, the
audit log on (every encrypt commits one audit entry naming the key and version).
Both servers are uvicorn, one worker, httptools + uvloop, pinned to core 0; wrk
is pinned to core 1. The baseline (bench/hello_app.py) reads the same request body
and answers a small JSON body. Runs alternate (bare, keystead, ...) so both see the
same machine; the ratio is keystead req/s over bare req/s. For reference the same
Keystead server is also asked a KV v2 read (``GET /vault/v1/secret/data/bench``,
audited too) in the same rounds. The server's CPU time per request is read from
/proc before and after each run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import json
import os
import secrets
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _common import BENCH_DIR, fmt_ratio, machine_rows, print_table, require_tool, wait_until
from http_verify import Result, free_port, post, ready, start_server, stop, wrk

from keystead.config import Settings
from keystead.service import Keystead

PAYLOAD_BYTES = 1024
KEY = "bench"
PATH = f"/vault/v1/transit/encrypt/{KEY}"
KV_PATH = "/vault/v1/secret/data/bench"
LUA = """
wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Vault-Token"] = "%s"
"""
KV_LUA = """
wrk.method = "GET"
wrk.headers["X-Vault-Token"] = "%s"
"""
LABELS = {
    "bare": "bare ASGI hello",
    "keystead": "transit encrypt 1 KiB",
    "kv": "(reference) KV v2 read",
}


@dataclass
class Run:
    result: Result
    cpu_s: float
    """The server process's user + system CPU seconds during the run."""
    seconds: int

    @property
    def cpu_us_per_request(self) -> float:
        requests = self.result.rps * self.seconds
        return self.cpu_s / requests * 1e6 if requests else float("nan")


async def bootstrap(tmp: Path) -> tuple[dict[str, str], str]:
    """A fresh SQLite store with a master key, a transit mount and its key ``bench``.
    Returns the server environment and the root key."""
    secret_file = tmp / "keystead.secret"
    secret_file.write_text(secrets.token_hex(32) + "\n")
    secret_file.chmod(0o600)
    database_url = f"sqlite:///{tmp / 'keystead.db'}"
    settings = Settings(_env_file=None, database_url=database_url, secret_file=secret_file)
    async with await Keystead.open(settings=settings, create_master_key=True) as ks:
        boot = await ks.workspaces.init()
        principal = await ks.workspaces.local_operator()
        await ks.secrets.enable_mount(principal, "transit", kind="transit")
        await ks.transit.create_key(principal, "transit", KEY)
        await ks.secrets.put(principal, "secret", KEY, {"api_key": secrets.token_hex(16)})
    env = {
        "KEYSTEAD_DATABASE_URL": database_url,
        "KEYSTEAD_SECRET_FILE": str(secret_file),
        "KEYSTEAD_LOG_LEVEL": "warning",
    }
    return env, boot.root_key.plaintext


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def measured(
    process: subprocess.Popen[bytes], url: str, lua: Path, seconds: int, args: argparse.Namespace
) -> Run:
    before = cpu_seconds(process.pid)
    result = wrk(url, lua, seconds, args.connections, args.threads)
    return Run(result, cpu_seconds(process.pid) - before, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--seconds", type=int, default=12, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (all on core 1)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    require_tool("wrk", "apt-get update && apt-get install -y wrk")
    seconds = 3 if args.quick else args.seconds
    rounds = 1 if args.quick else args.rounds
    warmup = 1 if args.quick else 3

    with tempfile.TemporaryDirectory(prefix="ks-transit-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env, root_key = asyncio.run(bootstrap(tmp))
        body = json.dumps({"plaintext": base64.b64encode(os.urandom(PAYLOAD_BYTES)).decode()})
        lua = tmp / "encrypt.lua"
        lua.write_text(LUA % (json.dumps(body), root_key))
        kv_lua = tmp / "kv.lua"
        kv_lua.write_text(KV_LUA % root_key)
        scripts = {"bare": lua, "keystead": lua, "kv": kv_lua}
        headers = {"Content-Type": "application/json", "X-Vault-Token": root_key}
        ports = {"bare": free_port(), "keystead": free_port()}
        paths = {"bare": "/", "keystead": PATH}
        servers: dict[str, subprocess.Popen[bytes]] = {}
        runs: dict[str, list[Run]] = {"bare": [], "keystead": [], "kv": []}
        try:
            servers["bare"] = start_server(
                "hello_app:create_app", ports["bare"], {}, tmp, BENCH_DIR
            )
            servers["keystead"] = start_server(
                "keystead.http.app:create_app", ports["keystead"], env, tmp, None
            )
            for name, process in servers.items():
                wait_until(functools.partial(ready, ports[name], process), 60, f"{name} server")
            check(ports["keystead"], body, headers)
            urls = {name: f"http://127.0.0.1:{ports[name]}{paths[name]}" for name in servers}
            urls["kv"] = f"http://127.0.0.1:{ports['keystead']}{KV_PATH}"
            process = {**servers, "kv": servers["keystead"]}
            for name in urls:  # warm up: caches, allocator, connection set-up
                wrk(urls[name], scripts[name], warmup, args.connections, args.threads)
            for _ in range(rounds):
                for name in urls:
                    runs[name].append(
                        measured(process[name], urls[name], scripts[name], seconds, args)
                    )
            check(ports["keystead"], body, headers)
        finally:
            for process in servers.values():
                stop(process)

    report(args, runs, seconds, rounds)
    if args.json:
        payload = {
            "machine": dict(machine_rows()),
            "runs": {
                name: [{**r.result.__dict__, "cpu_s": r.cpu_s} for r in found]
                for name, found in runs.items()
            },
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2))


def check(port: int, body: str, headers: dict[str, str]) -> None:
    status, answer = post(port, PATH, body.encode(), headers)
    ciphertext = json.loads(answer).get("data", {}).get("ciphertext", "")
    if status != 200 or not ciphertext.startswith("vault:v1:"):
        raise RuntimeError(f"the encrypt request does not encrypt: {status} {answer[:200]!r}")


def report(args: argparse.Namespace, runs: dict[str, list[Run]], seconds: int, rounds: int) -> None:
    print_table(
        "transit_encrypt: POST /vault/v1/transit/encrypt (1 KiB) vs a bare ASGI app",
        [
            ("run", ""),
            *machine_rows(),
            ("server", "uvicorn, httptools + uvloop, 1 worker, taskset core 0"),
            ("keystead", "defaults: SQLite, file:// master key, audit on"),
            ("load", f"wrk {args.threads} threads, {args.connections} connections, core 1"),
            ("runs", f"{rounds} x {seconds} s per server, alternating; best run shown"),
            ("mode", "quick" if args.quick else "full"),
        ],
        right=False,
    )
    best = {name: max(found, key=lambda r: r.result.rps) for name, found in runs.items()}
    rows: list[tuple[str, ...]] = [
        ("server", "req/s (best)", "all runs", "p50", "p99", "CPU/req", "errors")
    ]
    for name, label in LABELS.items():
        run = best[name]
        errors = sum(r.result.non_2xx for r in runs[name])
        socket_errors = [r.result.socket_errors for r in runs[name] if r.result.socket_errors]
        rows.append(
            (
                label,
                f"{run.result.rps:,.0f}",
                " ".join(f"{r.result.rps:,.0f}" for r in runs[name]),
                f"{run.result.p50_ms:.2f} ms",
                f"{run.result.p99_ms:.2f} ms",
                f"{run.cpu_us_per_request:,.0f} us",
                f"{errors} non-2xx" + (f"; {socket_errors[0]}" if socket_errors else ""),
            )
        )
    share = best["keystead"].result.rps / best["bare"].result.rps
    rows.append(
        (
            "ratio keystead / bare",
            f"{share:.1%}",
            " ".join(
                f"{k.result.rps / b.result.rps:.1%}"
                for k, b in zip(runs["keystead"], runs["bare"], strict=True)
            ),
            fmt_ratio(best["keystead"].result.p50_ms / best["bare"].result.p50_ms),
            fmt_ratio(best["keystead"].result.p99_ms / best["bare"].result.p99_ms),
            fmt_ratio(best["keystead"].cpu_us_per_request / best["bare"].cpu_us_per_request),
            "",
        )
    )
    print_table("results", rows)


if __name__ == "__main__":
    main()
