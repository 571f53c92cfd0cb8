"""``GET /vault/v1/secret/data/<path>`` (the Vault face, ``X-Vault-Token``) over HTTP
on loopback, against a bare ASGI hello served the same way, in one run.

    .venv/bin/python bench/vault_read.py            # full run (about 2 min)
    .venv/bin/python bench/vault_read.py --quick    # smoke run (about 30 s)

Keystead is what ships: ``keystead init`` then ``keystead serve`` on its default
settings (SQLite store, ``file://`` master key, audit on: every read is an audit
entry, counted afterwards; access log on), pinned to core 0 with its children.
The baseline is bench/hello_app.py run by the same ``uvicorn.run`` call as
``keystead serve`` makes (the same protocol, loop, log config and keep-alive
options), also pinned to core 0. wrk is pinned to core 1. Runs alternate (bare,
keystead, ...) so both see the same machine; the ratio is keystead req/s over
bare req/s (floor: 0.35x). CPU per request is the CPU time of every process of
each server (server and children, /proc) over the requests it answered.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _common import (
    BENCH_DIR,
    drop_pg_schema,
    fmt_ratio,
    fmt_us,
    fresh_pg_schema,
    machine_rows,
    pin_to_core,
    print_table,
    require_tool,
    wait_until,
)
from http_verify import CLIENT_CORE, SERVER_CORE, Result, free_port, pinned, stop, wrk
from usage_http import children, cpu_seconds

FLOOR = 0.35
HOST = "127.0.0.1"
SECRET_PATH = "bench/payments"
LUA = """
wrk.method = "GET"
wrk.headers["X-Vault-Token"] = "%s"
"""


def serve_bare(port: int) -> None:
    """The hello app under the ``uvicorn.run`` call of ``keystead serve``."""
    import uvicorn

    from keystead.cli.serve import connection_options, log_config
    from keystead.config import Settings

    settings = Settings(_env_file=None)
    sys.path.insert(0, str(BENCH_DIR))
    uvicorn.run(
        "hello_app:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=1,
        log_config=log_config("info"),
        log_level="info",
        server_header=False,
        **connection_options(settings),
        timeout_graceful_shutdown=5,
    )


def request(url: str, token: str, body: bytes | None = None) -> tuple[int, bytes]:
    """One call (POST with ``body``, else GET); status 0 when nothing answers."""
    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=5)
    headers = {"X-Vault-Token": token, "Content-Type": "application/json"}
    try:
        connection.request("POST" if body else "GET", where.path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    except OSError:
        return 0, b""
    finally:
        connection.close()


def tree_cpu(pid: int) -> float:
    return sum(cpu_seconds(p) for p in (pid, *children(pid)) if Path(f"/proc/{p}").exists())


def audited_reads(database: Path, pg: tuple[str, str] | None) -> int:
    query = "SELECT count(*) FROM ks_audit WHERE action = 'secret.read'"
    if pg is not None:
        import psycopg

        with psycopg.connect(pg[0], autocommit=True) as conn:
            row = conn.execute(
                f"SELECT count(*) FROM \"{pg[1]}\".ks_audit WHERE action = 'secret.read'"
            ).fetchone()
        return int(row[0]) if row else 0
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute(query).fetchone()
    return int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--seconds", type=int, default=12, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (all on core 1)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="serve from a fresh schema of this PostgreSQL database instead of SQLite",
    )
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    require_tool("wrk", "apt-get update && apt-get install -y wrk")
    seconds = 3 if args.quick else args.seconds
    rounds = 1 if args.quick else args.rounds
    warmup = 1 if args.quick else 3

    pg: tuple[str, str] | None = None
    if args.postgres:
        schema, schema_url = fresh_pg_schema(args.postgres)
        pg = (args.postgres, schema)
    try:
        run(args, seconds, rounds, warmup, pg, schema_url if pg else None)
    finally:
        if pg is not None:
            drop_pg_schema(*pg)


def run(
    args: argparse.Namespace,
    seconds: int,
    rounds: int,
    warmup: int,
    pg: tuple[str, str] | None,
    database_url: str | None,
) -> None:
    with tempfile.TemporaryDirectory(prefix="ks-vault-bench-") as tmp_name:
        tmp = Path(tmp_name)
        database = tmp / "keystead.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
        env |= {
            "KEYSTEAD_DATABASE_URL": database_url or f"sqlite:///{database}",
            "KEYSTEAD_SECRET_FILE": str(tmp / "keystead.secret"),
        }
        keystead = [sys.executable, "-m", "keystead.cli"]
        init = subprocess.run(
            [*keystead, "init", "--json"], env=env, cwd=tmp, capture_output=True, check=True
        )
        token = json.loads(init.stdout)["root_key"]
        ports = {"bare": free_port(), "keystead": free_port()}
        argv = {
            "bare": [sys.executable, __file__, "--serve-bare", str(ports["bare"])],
            "keystead": [
                *keystead,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports["keystead"]),
            ],
        }
        urls = {
            "bare": f"http://127.0.0.1:{ports['bare']}/",
            "keystead": f"http://127.0.0.1:{ports['keystead']}/vault/v1/secret/data/{SECRET_PATH}",
        }
        servers: dict[str, subprocess.Popen[bytes]] = {}
        results: dict[str, list[Result]] = {"bare": [], "keystead": []}
        cpu: dict[str, float] = {"bare": 0.0, "keystead": 0.0}
        lua = tmp / "read.lua"
        lua.write_text(LUA % token)
        try:
            for name in ("bare", "keystead"):
                servers[name] = subprocess.Popen(
                    pinned(SERVER_CORE, argv[name]),
                    env=env,
                    cwd=tmp,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                check = functools.partial(lambda u: request(u, token)[0] != 0, urls["bare"])
                if name == "keystead":
                    health = f"http://127.0.0.1:{ports['keystead']}/healthz"
                    check = functools.partial(lambda u: request(u, token)[0] == 200, health)
                wait_until(check, 60, f"{name} server")
            body = json.dumps({"data": {"stripe_key": "sk_live_" + "x" * 24, "user": "pay"}})
            status, _ = request(
                f"http://127.0.0.1:{ports['keystead']}/vault/v1/secret/data/{SECRET_PATH}",
                token,
                body.encode(),
            )
            if status != 200:
                raise RuntimeError(f"could not write the secret: {status}")
            status, answer = request(urls["keystead"], token)
            if status != 200 or b"stripe_key" not in answer:
                raise RuntimeError(f"the read does not answer the secret: {status}")
            for name in servers:
                wrk(urls[name], lua, warmup, args.connections, args.threads)
            for _ in range(rounds):
                for name in ("bare", "keystead"):
                    before = tree_cpu(servers[name].pid)
                    results[name].append(
                        wrk(urls[name], lua, seconds, args.connections, args.threads)
                    )
                    cpu[name] += tree_cpu(servers[name].pid) - before
            time.sleep(1.5)  # the audit buffer's last flush
            audited = audited_reads(database, pg)
        finally:
            for process in servers.values():
                stop(process)
        pin_to_core(SERVER_CORE)
        steps = asyncio.run(breakdown(env, token, 300 if args.quick else 2000))
    print(f"store: {'PostgreSQL' if pg else 'SQLite'}")
    report(results, cpu, seconds, rounds, audited, args)
    print_table(
        "Where a read's CPU goes (in-process, one call at a time, core 0)",
        [("step", "CPU per call")] + [(label, fmt_us(value)) for label, value in steps],
    )


async def breakdown(env: dict[str, str], token: str, calls: int) -> list[tuple[str, float]]:
    """CPU per call of the read through the ASGI app (64 at a time, as served, and one
    at a time), of the Vault face alone (the service answering a read it already
    made), of ``ks.secrets.get`` alone (its version remembered, its audit entry a
    transaction of its own), and of the store calls a read may make: the version (one
    statement) and the audit entry, alone or in a batch of 64 (group commit under
    concurrent reads). The mount is remembered per service: no store call."""
    from keystead.config import Settings
    from keystead.core.audit import AuditRecord
    from keystead.core.ids import new_id
    from keystead.http.app import create_app
    from keystead.service import Keystead

    settings = Settings(
        _env_file=None,
        database_url=env["KEYSTEAD_DATABASE_URL"],
        secret_file=Path(env["KEYSTEAD_SECRET_FILE"]),
    )
    ks = await Keystead.open(settings=settings, create_secret=False)
    try:
        principal = await ks.root_keys.authenticate(token)
        store = ks._ctx.store
        workspace = principal.workspace_id
        app = create_app(ks)
        scope = {
            "type": "http",
            "method": "GET",
            "path": f"/vault/v1/secret/data/{SECRET_PATH}",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"x-vault-token", token.encode())],
            "client": ("127.0.0.1", 1),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(_message: Any) -> None:
            return None

        async def through_app() -> object:
            return await app(dict(scope), receive, send)

        async def service_get() -> object:
            return await ks.secrets.get(principal, "secret", SECRET_PATH)

        async def version() -> object:
            return await store.read_secret_version(workspace, "secret", SECRET_PATH, None)

        def entries(count: int) -> list[AuditRecord]:
            at, stamp = ks._ctx.now(), time.time()
            return [
                AuditRecord(new_id("aud", stamp), workspace, at, "bench", "read", "secret", "x")
                for _ in range(count)
            ]

        async def audit_alone() -> object:
            await store.append_audit(entries(1))
            return None

        async def audit_batch() -> object:
            await store.append_audit(entries(64))
            return None

        steps = [
            (
                "GET through the ASGI app, 64 at a time (as served: batched audit)",
                await cpu_per_concurrent_call(through_app, calls, 64),
            ),
            (
                "GET through the ASGI app, one at a time",
                await cpu_per_call(through_app, calls),
            ),
            ("ks.secrets.get (audited read, alone)", await cpu_per_call(service_get, calls)),
            ("  store: the version (one statement)", await cpu_per_call(version, calls)),
            ("  store: one audit entry, alone", await cpu_per_call(audit_alone, calls)),
            (
                "  store: 64 audit entries, one batch (per entry)",
                await cpu_per_call(audit_batch, calls // 10) / 64,
            ),
        ]
        answered = await ks.secrets.get(principal, "secret", SECRET_PATH)

        async def answered_get(*_args: Any, **_kwargs: Any) -> Any:
            return answered

        ks.secrets.get = answered_get  # type: ignore[method-assign]
        steps.insert(
            1, ("  the Vault face alone (service stubbed)", await cpu_per_call(through_app, calls))
        )
        return steps
    finally:
        await ks.close()


async def cpu_per_concurrent_call(
    call: Callable[[], Awaitable[object]], calls: int, concurrency: int
) -> float:
    """CPU per call (every thread of the process) of ``calls`` calls made by
    ``concurrency`` tasks at once: the reads' audit entries commit in batches, as
    under load, and the audit writer's thread counts."""
    per_task = max(calls // concurrency, 1)

    async def task() -> None:
        for _ in range(per_task):
            await call()

    await asyncio.gather(*(task() for _ in range(concurrency)))  # warm-up
    started = time.process_time()
    await asyncio.gather(*(task() for _ in range(concurrency)))
    return (time.process_time() - started) / (per_task * concurrency)


async def cpu_per_call(call: Callable[[], Awaitable[object]], calls: int) -> float:
    for _ in range(max(calls // 10, 10)):
        await call()
    started = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - started) / calls


def report(
    results: dict[str, list[Result]],
    cpu: dict[str, float],
    seconds: int,
    rounds: int,
    audited: int,
    args: argparse.Namespace,
) -> None:
    print_table("Machine", [("", ""), *machine_rows()], right=False)
    print(
        f"\nwrk: {args.connections} connections, {args.threads} threads on core {CLIENT_CORE}; "
        f"servers on core {SERVER_CORE}; {rounds} x {seconds} s per server, alternating"
    )
    rows = [("server", "best req/s", "p50", "p99", "CPU/req", "non-2xx")]
    best = {}
    for name, label in (("bare", "bare ASGI hello"), ("keystead", "keystead Vault read")):
        top = max(results[name], key=lambda r: r.rps)
        best[name] = top.rps
        answered = sum(r.rps for r in results[name]) * seconds
        per_request = cpu[name] / answered if answered else 0.0
        rows.append(
            (
                label,
                f"{top.rps:,.0f}",
                f"{top.p50_ms:.2f} ms",
                f"{top.p99_ms:.2f} ms",
                f"{per_request * 1e6:,.0f} us",
                str(sum(r.non_2xx for r in results[name])),
            )
        )
    print_table("GET /vault/v1/secret/data/<path> with X-Vault-Token (audit on)", rows)
    ratio = best["keystead"] / best["bare"]
    verdict = "meets" if ratio >= FLOOR else "BELOW"
    print(f"\nratio keystead / bare: {fmt_ratio(ratio)} ({verdict} the {FLOOR}x floor)")
    print(f"audit entries for secret.read: {audited:,}")


if __name__ == "__main__":
    main()
