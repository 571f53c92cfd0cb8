"""Short-lived tokens over HTTP and in the middleware, each against its baseline
measured in the same run (issue 17's floors).

    .venv/bin/python bench/tokens.py            # full run (about 4 min)
    .venv/bin/python bench/tokens.py --quick    # smoke run (about 1 min)

Over HTTP, Keystead is what ships: ``keystead init`` then ``keystead serve`` on its
default settings (SQLite store, ``file://`` master key, usage writer process),
pinned to core 0 with its children; wrk on core 1. Four requests, in alternating
rounds so that all see the same machine:

* ``POST /v1/keys/verify`` (root key, a cached key): the baseline;
* ``POST /v1/tokens`` (the key itself): an exchange (floor 0.5x verify);
* ``POST /oauth/token`` (client credentials, ``client_secret_basic``): the same
  issuance as OAuth clients ask for it, beside Hydra's published 513 req/s;
* ``POST /oauth/introspect`` (root key, one live token): floor 0.8x verify, beside
  Hydra's published 5,109 req/s.

Hydra's figures were measured on 2 CPUs; Keystead's here on one core (the other
runs wrk). CPU per request is every process of the server (server and usage
writer, /proc) over the requests answered.

In the middleware (in-process ASGI calls, bench/_token_middleware.py): a repeated
token against a cached key through the same ``KeysteadMiddleware`` (floor 0.8x),
embedded and remote; a first-seen token against the same endpoint behind a small
ASGI middleware that verifies with PyJWT's ``decode`` and a cached
``PyJWKClient`` (floor 1.0x), and the verifiers alone against PyJWT alone.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
from _common import fmt_ratio, fmt_us, machine_rows, pin_to_core, print_table, require_tool
from _common import wait_until as _wait_until
from _token_middleware import middleware_figures, report_middleware
from _token_routes import route_costs
from http_verify import CLIENT_CORE, SERVER_CORE, Result, free_port, pinned, stop, wrk
from vault_read import tree_cpu

HYDRA_ISSUANCE = 513.0
HYDRA_INTROSPECTION = 5109.0
FLOORS = {"exchange": 0.5, "oauth": 0.5, "introspect": 0.8}
NAMES = ("verify", "exchange", "oauth", "introspect")
LUA = """
wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = %s
wrk.headers["Authorization"] = %s
"""


@dataclass
class Target:
    path: str
    body: str
    content_type: str
    authorization: str
    expected: int

    def lua(self) -> str:
        return LUA % tuple(
            json.dumps(v) for v in (self.body, self.content_type, self.authorization)
        )


@dataclass
class Bootstrapped:
    url: str
    root_key: str
    api_id: str
    key_id: str
    key: str
    token: str


def bootstrap(url: str, root_key: str) -> Bootstrapped:
    """One API, one key (no limits), one live token, through the HTTP API."""
    admin = {"Authorization": f"Bearer {root_key}"}
    with httpx.Client(base_url=url, timeout=30) as client:
        api = client.post("/v1/apis", json={"name": "bench"}, headers=admin)
        api.raise_for_status()
        api_id = api.json()["id"]
        created = client.post(
            "/v1/keys",
            json={"api_id": api_id, "permissions": ["documents.read"]},
            headers=admin,
        )
        created.raise_for_status()
        key, key_id = created.json()["key"], created.json()["id"]
        issued = client.post(
            "/v1/tokens", json={"ttl_s": 3600}, headers={"Authorization": f"Bearer {key}"}
        )
        issued.raise_for_status()
    return Bootstrapped(url, root_key, api_id, key_id, key, issued.json()["token"])


def targets(b: Bootstrapped) -> dict[str, Target]:
    import base64

    basic = base64.b64encode(f"{b.key_id}:{b.key}".encode()).decode()
    form = "application/x-www-form-urlencoded"
    return {
        "verify": Target(
            "/v1/keys/verify", json.dumps({"key": b.key}), "application/json",
            f"Bearer {b.root_key}", 200,
        ),
        "exchange": Target("/v1/tokens", "{}", "application/json", f"Bearer {b.key}", 201),
        "oauth": Target(
            "/oauth/token", urlencode({"grant_type": "client_credentials"}), form,
            f"Basic {basic}", 200,
        ),
        "introspect": Target(
            "/oauth/introspect", urlencode({"token": b.token}), form, f"Bearer {b.root_key}", 200
        ),
    }  # fmt: skip


def check(url: str, target: Target) -> None:
    answer = httpx.post(
        f"{url}{target.path}",
        content=target.body,
        headers={"Content-Type": target.content_type, "Authorization": target.authorization},
        timeout=10,
    )
    if answer.status_code != target.expected:
        raise RuntimeError(f"{target.path} answered {answer.status_code}: {answer.text[:300]}")
    if target.path == "/oauth/introspect" and answer.json().get("active") is not True:
        raise RuntimeError(f"introspection does not see the token as live: {answer.text}")


def serve(
    tmp: Path, settings: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str, str]:
    """``keystead init`` then ``keystead serve`` in ``tmp`` (SQLite), pinned to the
    server core with its children; ``settings``: environment on top of the defaults.
    Returns the server process, its URL and the root key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env |= {
        "KEYSTEAD_DATABASE_URL": f"sqlite:///{tmp / 'keystead.db'}",
        "KEYSTEAD_SECRET_FILE": str(tmp / "keystead.secret"),
        "KEYSTEAD_PUBLIC_URL": url,
        **(settings or {}),
    }
    keystead = [sys.executable, "-m", "keystead.cli"]
    init = subprocess.run(
        [*keystead, "init", "--json"], env=env, cwd=tmp, capture_output=True, check=True
    )
    root_key = json.loads(init.stdout)["root_key"]
    process = subprocess.Popen(
        pinned(SERVER_CORE, [*keystead, "serve", "--host", "127.0.0.1", "--port", str(port)]),
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"keystead serve exited with {process.returncode}")
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    _wait_until(healthy, 60, "keystead serve")
    return process, url, root_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per request")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (all on core 1)")
    parser.add_argument("--profile", action="store_true", help="cProfile the slowest paths")
    args = parser.parse_args()
    require_tool("wrk", "apt-get update && apt-get install -y wrk")
    seconds = 2 if args.quick else args.seconds
    rounds = 1 if args.quick else args.rounds

    results: dict[str, list[Result]] = {name: [] for name in NAMES}
    cpu = dict.fromkeys(NAMES, 0.0)
    with tempfile.TemporaryDirectory(prefix="ks-tokens-bench-") as tmp_name:
        tmp = Path(tmp_name)
        process, url, root_key = serve(tmp)
        try:
            booted = bootstrap(url, root_key)
            wanted = targets(booted)
            for name, target in wanted.items():
                check(url, target)
                lua = tmp / f"{name}.lua"
                lua.write_text(target.lua())
                wrk(f"{url}{target.path}", lua, 1, args.connections, args.threads)  # warm-up
            for _ in range(rounds):
                for name, target in wanted.items():
                    before = tree_cpu(process.pid)
                    results[name].append(
                        wrk(
                            f"{url}{target.path}",
                            tmp / f"{name}.lua",
                            seconds,
                            args.connections,
                            args.threads,
                        )
                    )
                    cpu[name] += tree_cpu(process.pid) - before
            for target in wanted.values():
                check(url, target)
            pin_to_core(CLIENT_CORE)
            settle = functools.partial(time.sleep, 1.5)  # the usage writer's last batch
            settle()
            middleware = asyncio.run(middleware_figures(tmp, booted, args.quick, args.profile))
        finally:
            stop(process)
        pin_to_core(SERVER_CORE)
        missed = any(
            max(r.rps for r in results[name]) / max(r.rps for r in results["verify"]) < floor
            for name, floor in FLOORS.items()
        )
        costs, profiles = asyncio.run(
            route_costs(tmp, booted, wanted, 200 if args.quick else 1000, args.profile or missed)
        )
    report_http(results, cpu, seconds, rounds, args)
    report_routes(costs, profiles)
    report_middleware(middleware)


def report_routes(costs: dict[str, float], profiles: dict[str, str]) -> None:
    rows = [("in-process call (no server, no socket)", "CPU per call", "vs verify")]
    for name, cost in costs.items():
        base = costs["  service: ks.verify" if name.startswith(" ") else "verify"]
        rows.append((name, fmt_us(cost), fmt_ratio(base / cost)))
    print_table("Where the time goes: the HTTP app alone, core 0, best of 3", rows)
    for name, text in profiles.items():
        print(f"\nprofile: {name} through the HTTP app (by own time)\n{text}")


def report_http(
    results: dict[str, list[Result]],
    cpu: dict[str, float],
    seconds: int,
    rounds: int,
    args: argparse.Namespace,
) -> None:
    print_table("Machine", [("", ""), *machine_rows()], right=False)
    print(
        f"\nkeystead serve (defaults, SQLite) on core {SERVER_CORE}; wrk {args.threads} threads, "
        f"{args.connections} connections on core {CLIENT_CORE}; {rounds} x {seconds} s per "
        "request, alternating"
    )
    labels = {
        "verify": "POST /v1/keys/verify",
        "exchange": "POST /v1/tokens",
        "oauth": "POST /oauth/token",
        "introspect": "POST /oauth/introspect",
    }
    best = {name: max(r.rps for r in runs) for name, runs in results.items()}
    rows = [("request", "best req/s", "p50", "p99", "CPU/req", "non-2xx", "vs verify", "floor")]
    for name in NAMES:
        top = max(results[name], key=lambda r: r.rps)
        answered = sum(r.rps for r in results[name]) * seconds
        ratio = best[name] / best["verify"]
        floor = FLOORS.get(name)
        verdict = "" if floor is None else f"{floor}x {'met' if ratio >= floor else 'MISSED'}"
        rows.append(
            (
                labels[name],
                f"{top.rps:,.0f}",
                f"{top.p50_ms:.2f} ms",
                f"{top.p99_ms:.2f} ms",
                fmt_us(cpu[name] / answered) if answered else "-",
                str(sum(r.non_2xx for r in results[name])),
                fmt_ratio(ratio),
                verdict,
            )
        )
    print_table("Over HTTP", rows)
    print_table(
        "Beside Hydra's published figures (2 CPUs; Keystead: 1 core)",
        [
            ("request", "Keystead req/s", "Hydra req/s", "ratio"),
            ("client credentials (POST /oauth/token)", f"{best['oauth']:,.0f}",
             f"{HYDRA_ISSUANCE:,.0f}", fmt_ratio(best["oauth"] / HYDRA_ISSUANCE)),
            ("key exchange (POST /v1/tokens)", f"{best['exchange']:,.0f}",
             f"{HYDRA_ISSUANCE:,.0f}", fmt_ratio(best["exchange"] / HYDRA_ISSUANCE)),
            ("introspection", f"{best['introspect']:,.0f}", f"{HYDRA_INTROSPECTION:,.0f}",
             fmt_ratio(best["introspect"] / HYDRA_INTROSPECTION)),
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
