"""Transit ``encrypt`` of a 1 KiB payload over HTTP, through the Vault face, against
a bare ASGI hello served the same way, in one run.

    .venv/bin/python bench/transit_encrypt.py            # full run (about 3 min)
    .venv/bin/python bench/transit_encrypt.py --quick    # smoke run (about 30 s)

``POST /vault/v1/transit/encrypt/bench`` with ``X-Vault-Token`` (the root key) and
``{"plaintext": <base64 of 1,024 random bytes>}``, as hvac's ``encrypt_data`` sends
it. Keystead is what ships: ``keystead init`` then ``keystead serve`` on its default
settings (SQLite store, ``file://`` master key, audit on: every encrypt commits an
audit entry naming the key and version, counted afterwards), pinned to core 0 with
its children; the mount and the key are made through the Vault face, as hvac's
``sys.enable_secrets_engine`` and ``create_key`` do. The baseline is bench/hello_app.py
run by the same ``uvicorn.run`` call as ``keystead serve`` makes (bench/vault_read.py),
also on core 0; wrk is pinned to core 1. For reference the same Keystead server also
answers a KV v2 read (``GET /vault/v1/secret/data/bench``, audited too) in the same
rounds. Runs alternate (bare, encrypt, read, ...) so all see the same machine; the ratio
is keystead req/s over bare req/s. CPU per request is the CPU time of every process of
each server (server and children, /proc) over the requests it answered.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import fmt_ratio, machine_rows, print_table, require_tool, wait_until
from http_verify import CLIENT_CORE, SERVER_CORE, Result, free_port, pinned, stop, wrk
from vault_read import request, tree_cpu

PAYLOAD_BYTES = 1024
KEY = "bench"
ENCRYPT_LUA = """
wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Vault-Token"] = "%s"
"""
READ_LUA = """
wrk.method = "GET"
wrk.headers["X-Vault-Token"] = "%s"
"""
LABELS = {
    "bare": "bare ASGI hello",
    "encrypt": "transit encrypt 1 KiB",
    "read": "(reference) KV v2 read",
}


def audited(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM ks_audit WHERE action = 'transit.encrypt'"
        ).fetchone()
    return int(count)


def setup(base: str, token: str, body: str) -> None:
    """The transit mount, its key and a KV secret, through the Vault face."""
    for path, payload in (
        ("sys/mounts/transit", {"type": "transit"}),
        (f"transit/keys/{KEY}", {}),
        (f"secret/data/{KEY}", {"data": {"stripe_key": "sk_live_" + "x" * 24}}),
    ):
        status, answer = request(f"{base}/{path}", token, json.dumps(payload).encode())
        if status not in (200, 204):
            raise RuntimeError(f"setting up {path} failed: {status} {answer[:200]!r}")
    check(base, token, body)


def check(base: str, token: str, body: str) -> None:
    status, answer = request(f"{base}/transit/encrypt/{KEY}", token, body.encode())
    if status != 200 or b'"vault:v1:' not in answer:
        raise RuntimeError(f"the encrypt request does not encrypt: {status} {answer[:200]!r}")


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
        database = tmp / "keystead.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
        env |= {
            "KEYSTEAD_DATABASE_URL": f"sqlite:///{database}",
            "KEYSTEAD_SECRET_FILE": str(tmp / "keystead.secret"),
        }
        keystead = [sys.executable, "-m", "keystead.cli"]
        init = subprocess.run(
            [*keystead, "init", "--json"], env=env, cwd=tmp, capture_output=True, check=True
        )
        token = json.loads(init.stdout)["root_key"]
        ports = {"bare": free_port(), "keystead": free_port()}
        argv = {
            "bare": [
                sys.executable,
                str(Path(__file__).with_name("vault_read.py")),
                "--serve-bare",
                str(ports["bare"]),
            ],
            "keystead": [
                *keystead,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports["keystead"]),
            ],
        }
        base = f"http://127.0.0.1:{ports['keystead']}/vault/v1"
        urls = {
            "bare": f"http://127.0.0.1:{ports['bare']}/",
            "encrypt": f"{base}/transit/encrypt/{KEY}",
            "read": f"{base}/secret/data/{KEY}",
        }
        body = json.dumps({"plaintext": base64.b64encode(os.urandom(PAYLOAD_BYTES)).decode()})
        scripts = {"bare": tmp / "encrypt.lua", "encrypt": tmp / "encrypt.lua"}
        scripts["bare"].write_text(ENCRYPT_LUA % (json.dumps(body), token))
        scripts["read"] = tmp / "read.lua"
        scripts["read"].write_text(READ_LUA % token)
        servers: dict[str, subprocess.Popen[bytes]] = {}
        results: dict[str, list[Result]] = {name: [] for name in LABELS}
        cpu = dict.fromkeys(LABELS, 0.0)
        try:
            for name in ("bare", "keystead"):
                servers[name] = subprocess.Popen(
                    pinned(SERVER_CORE, argv[name]),
                    env=env,
                    cwd=tmp,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            health = f"http://127.0.0.1:{ports['keystead']}/healthz"
            wait_until(lambda: request(urls["bare"], token)[0] != 0, 60, "bare server")
            wait_until(lambda: request(health, token)[0] == 200, 60, "keystead server")
            setup(base, token, body)
            process = {"bare": servers["bare"], "encrypt": servers["keystead"]}
            process["read"] = servers["keystead"]
            for name in LABELS:  # warm up: caches, allocator, connection set-up
                wrk(urls[name], scripts[name], warmup, args.connections, args.threads)
            for _ in range(rounds):
                for name in LABELS:
                    before = tree_cpu(process[name].pid)
                    results[name].append(
                        wrk(urls[name], scripts[name], seconds, args.connections, args.threads)
                    )
                    cpu[name] += tree_cpu(process[name].pid) - before
            check(base, token, body)  # still encrypting after the load
            encrypts = audited(database)
        finally:
            for server in servers.values():
                stop(server)
    report(results, cpu, seconds, rounds, encrypts, args)
    if args.json:
        payload = {
            "machine": dict(machine_rows()),
            "results": {k: [r.__dict__ for r in v] for k, v in results.items()},
            "cpu_s": cpu,
            "audited_encrypts": encrypts,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2))


def report(
    results: dict[str, list[Result]],
    cpu: dict[str, float],
    seconds: int,
    rounds: int,
    encrypts: int,
    args: argparse.Namespace,
) -> None:
    print_table("Machine", [("", ""), *machine_rows()], right=False)
    print(
        f"\nwrk: {args.connections} connections, {args.threads} threads on core {CLIENT_CORE}; "
        f"servers on core {SERVER_CORE}; {rounds} x {seconds} s per server, alternating"
        + ("; quick" if args.quick else "")
    )
    rows = [("server", "best req/s", "all rounds", "p50", "p99", "CPU/req", "non-2xx")]
    best: dict[str, Result] = {}
    per_request: dict[str, float] = {}
    for name, label in LABELS.items():
        best[name] = max(results[name], key=lambda r: r.rps)
        answered = sum(r.rps for r in results[name]) * seconds
        per_request[name] = cpu[name] / answered if answered else 0.0
        rows.append(
            (
                label,
                f"{best[name].rps:,.0f}",
                " ".join(f"{r.rps:,.0f}" for r in results[name]),
                f"{best[name].p50_ms:.2f} ms",
                f"{best[name].p99_ms:.2f} ms",
                f"{per_request[name] * 1e6:,.0f} us",
                str(sum(r.non_2xx for r in results[name])),
            )
        )
    print_table("POST /vault/v1/transit/encrypt/<key>, 1 KiB, X-Vault-Token (audit on)", rows)
    ratio = best["encrypt"].rps / best["bare"].rps
    rounds_ratio = " ".join(
        fmt_ratio(e.rps / b.rps) for e, b in zip(results["encrypt"], results["bare"], strict=True)
    )
    print(f"\nratio encrypt / bare: {fmt_ratio(ratio)} (rounds: {rounds_ratio})")
    print(f"ratio encrypt / KV read: {fmt_ratio(best['encrypt'].rps / best['read'].rps)}")
    cpu_ratio = per_request["encrypt"] / per_request["bare"]
    print(f"CPU per request, encrypt / bare: {fmt_ratio(cpu_ratio)}")
    print(f"audit entries for transit.encrypt: {encrypts:,}")


if __name__ == "__main__":
    main()
