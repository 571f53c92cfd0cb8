"""CPU per usage record: the writer process and the serving process's recording
side, at one connection and at saturation, as ``keystead serve`` ships.

    .venv/bin/python bench/usage_writer.py                 # SQLite (about 2 min)
    .venv/bin/python bench/usage_writer.py --postgres URL  # fresh schemas of URL
    .venv/bin/python bench/usage_writer.py --vs DIR        # also DIR/src's code
    .venv/bin/python bench/usage_writer.py --quick         # smoke run (about 40 s)

Servers, each ``keystead init`` then ``keystead serve`` on its defaults (uvicorn,
one worker, pinned to core 0 with its children; usage written by the writer
process) on a store of its own: "on" (this tree), "off"
(``KEYSTEAD_USAGE_ENABLED=false``, the one setting changed) and, with ``--vs``, the
same defaults from another source tree (``PYTHONPATH=DIR/src``: a checkout of an
earlier commit, for before/after figures from one run). wrk on core 1 sends
``POST /v1/keys/verify`` for one cached key, first with 1 connection (a lightly
loaded server), then with 64 (saturation), in alternating runs. CPU time comes
from /proc around each run: the serving process alone, and its children (the
writer). "Writer CPU/record" is the writer's CPU over the requests answered in
the run (one record each); "recording side" is the serving process's CPU per
request less the same with recording off, at the same load (noisy: a few us
either way between runs). Every record must reach the store: the bench counts
the rows at the end.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from _common import (
    drop_pg_schema,
    fmt_us,
    fresh_pg_schema,
    machine_rows,
    median,
    print_table,
    require_tool,
    wait_until,
)
from _serving import Run, children, fixed, wrk

from tokens import bootstrap, serve, targets

LOADS = {"1 connection": (1, 1), "saturation": (64, 2)}
RECORDING = ("on", "before")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test")
    parser.add_argument("--seconds", type=int, default=8, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per load")
    parser.add_argument("--postgres", metavar="URL", help="stores in fresh schemas of this URL")
    parser.add_argument("--vs", type=Path, help="also serve the code of DIR/src ('before')")
    args = parser.parse_args()
    require_tool("wrk", "apt-get update && apt-get install -y wrk")
    seconds, rounds = (3, 1) if args.quick else (args.seconds, args.rounds)
    started = time.monotonic()
    variants: dict[str, dict[str, str]] = {"on": {}, "off": {"KEYSTEAD_USAGE_ENABLED": "false"}}
    if args.vs is not None:
        variants["before"] = {"PYTHONPATH": str(args.vs.resolve() / "src")}
    schemas: dict[str, tuple[str, str]] = {}
    try:
        if args.postgres:
            for name in variants:
                schemas[name] = fresh_pg_schema(args.postgres)
                variants[name]["KEYSTEAD_DATABASE_URL"] = schemas[name][1]
        with tempfile.TemporaryDirectory(prefix="ks-usage-writer-") as tmp_name:
            tmp = Path(tmp_name)
            results, answered = run(tmp, variants, seconds, rounds)
            written = {
                name: rows(tmp / name / "keystead.db", args.postgres, schemas.get(name))
                for name in variants
                if name in RECORDING
            }
    finally:
        for schema, _url in schemas.values():
            drop_pg_schema(args.postgres, schema)
    store = "PostgreSQL" if args.postgres else "SQLite"
    report(results, variants, seconds, rounds, store, written, answered, args.vs)
    print(f"\nwall time {time.monotonic() - started:.0f} s")


def run(
    tmp: Path, variants: dict[str, dict[str, str]], seconds: int, rounds: int
) -> tuple[dict[tuple[str, str], list[Run]], dict[str, int]]:
    servers = {}
    results: dict[tuple[str, str], list[Run]] = {(v, load): [] for v in variants for load in LOADS}
    answered = dict.fromkeys(variants, 0)
    try:
        for name, extra in variants.items():
            (tmp / name).mkdir()
            servers[name] = serve(tmp / name, extra)
        urls = {}
        for name, (_process, url, root_key) in servers.items():
            target = targets(bootstrap(url, root_key))["verify"]
            (tmp / f"{name}.lua").write_text(target.lua())
            urls[name] = f"{url}{target.path}"
            warm = wrk(urls[name], tmp / f"{name}.lua", 2, 64, 2)  # starts the writer
            answered[name] += warm.requests
        for name in RECORDING:
            if name in servers:
                pid = servers[name][0].pid
                wait_until(lambda pid=pid: bool(children(pid)), 60, f"{name}'s usage writer")
        for load, (connections, threads) in LOADS.items():
            for _ in range(rounds):
                for name, (process, _url, _key) in servers.items():
                    pid = process.pid
                    watch: dict[str, Callable[[], Sequence[int]]] = {
                        "server": fixed([pid]),
                        "writer": lambda pid=pid: children(pid),  # type: ignore[misc]
                    }
                    done = wrk(
                        urls[name], tmp / f"{name}.lua", seconds, connections, threads, watch=watch
                    )
                    results[name, load].append(done)
                    answered[name] += done.requests
    finally:
        for process, _url, _key in servers.values():
            process.terminate()  # a clean stop writes what is buffered
            process.wait(60)
    return results, answered


def rows(database: Path, pg_url: str | None, schema: tuple[str, str] | None) -> int:
    if schema is not None and pg_url is not None:
        import psycopg

        with psycopg.connect(pg_url, autocommit=True) as conn:
            row = conn.execute(f'SELECT count(*) FROM "{schema[0]}".ks_usage').fetchone()
        return int(row[0]) if row else 0
    with sqlite3.connect(database) as connection:
        (count,) = connection.execute("SELECT count(*) FROM ks_usage").fetchone()
    return int(count)


def report(
    results: dict[tuple[str, str], list[Run]],
    variants: dict[str, dict[str, str]],
    seconds: int,
    rounds: int,
    store: str,
    written: dict[str, int],
    answered: dict[str, int],
    vs: Path | None,
) -> None:
    print_table(
        "usage_writer: CPU per usage record, keystead serve on its defaults",
        [
            ("run", ""),
            *machine_rows(),
            ("server", f"keystead serve, 1 worker, {store}, core 0 with its writer"),
            ("request", "POST /v1/keys/verify, one cached key; wrk on core 1"),
            ("runs", f"{rounds} x {seconds} s per load and server, alternating; medians"),
            *([("before", f"the same from {vs}/src")] if vs else []),
        ],
        right=False,
    )
    table: list[tuple[str, ...]] = [
        (
            "load",
            "server",
            "req/s",
            "serving CPU/req",
            "recording side",
            "writer CPU/record",
            "all CPU/req",
        )
    ]
    for load in LOADS:
        off = median([r.cpu_per_request("server") for r in results["off", load]])
        for name in variants:
            runs = results[name, load]
            serving = median([r.cpu_per_request("server") for r in runs])
            recording = name in RECORDING
            writer = median([r.cpu_per_request("writer") for r in runs])
            every = median([sum(r.cpu_s.values()) / max(1, r.requests) for r in runs])
            table.append(
                (
                    load,
                    name,
                    f"{median([r.rps for r in runs]):,.0f}",
                    fmt_us(serving),
                    fmt_us(serving - off) if recording else "",
                    fmt_us(writer) if recording else "",
                    fmt_us(every),
                )
            )
    print_table("CPU per request (serving process) and per record (writer)", table)
    for name, count in written.items():
        status = "all recorded" if count >= answered[name] else "MISSING"
        print(f"{name}: {count:,} usage rows for {answered[name]:,} verifications: {status}")


if __name__ == "__main__":
    main()
