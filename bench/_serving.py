"""What the HTTP benches share: a SQLite store of keys, servers started as
processes, wrk runs with the CPU of named process groups, and usage rows.

Used by bench/middleware_http.py, bench/gateway_http.py, bench/peers_http.py and
bench/usage_writer.py. Not a benchmark itself.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import re
import secrets
import sqlite3
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import machine_rows, wait_until
from http_verify import CLIENT_CORE, parse_wrk, pinned, wrk_argv

from keystead.config import Settings
from keystead.service import Keystead

PATH = "/api/data"
NEVER_REFUSING = [{"name": "requests", "limit": 10**9, "duration_s": 1}]
PERMISSION = "data.read"


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


def descendants(pid: int) -> list[int]:
    """All the processes ``pid`` started, and theirs."""
    return tree(pid)[1:]


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


def cpu_per_request(runs: Sequence[Run], group: str) -> float:
    """CPU seconds of a process group over the requests answered, all runs summed."""
    return sum(r.cpu_s.get(group, 0.0) for r in runs) / max(1, sum(r.requests for r in runs))


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


def load_average() -> str:
    """The machine's load average now: on a shared machine, what else ran."""
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min)"


def write_json(path: Path | None, payload: Mapping[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": dict(machine_rows()), **payload}, indent=2))
