"""``keystead serve --workers 2`` as a real process: refused where each worker would
keep its own counters or its own stale cache, and exact where it starts.

Which worker served a request is not visible over HTTP, so the tests read it from
the processes: every keep-alive connection is held by the worker that accepted it
(``/proc/PID/fd`` against ``/proc/net/tcp``), and each request is sent on a
connection whose worker is known. Half of every batch goes to each worker.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from conftest import REDIS_ENV, drop_workspace_counters
from gateway.processes import free_port, keystead, store_env
from keystead.service import counters
from serving import Server, serving

pytestmark = pytest.mark.slow

needs_redis = pytest.mark.skipif(
    not os.environ.get(REDIS_ENV), reason=f"{REDIS_ENV} is not set: needs Redis"
)
FAILED_ATTEMPTS_LIMIT = 5


def _run(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        keystead(*args), env=env, cwd=home, capture_output=True, text=True, timeout=60
    )


def _nothing_listens(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/healthz")
    except ConnectionRefusedError:
        return True
    finally:
        connection.close()
    return False


# -- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        pytest.param(
            {},
            [
                "KEYSTEAD_LIMITS_URL=redis://",
                "each worker counts alone",
                "--workers 1 needs nothing",
            ],
            id="memory-limiter",
        ),
        # a shared limiter alone is not enough: with the channel turned off, a key
        # revoked through one worker would go on verifying on the other
        pytest.param(
            {
                "KEYSTEAD_LIMITS_URL": "redis://127.0.0.1:6379/0",
                "KEYSTEAD_INVALIDATION_URL": "none",
            },
            ["KEYSTEAD_INVALIDATION_URL=redis://", "revoked through one worker"],
            id="no-invalidation-channel",
        ),
    ],
)
def test_serve_with_two_workers_is_refused_before_it_starts(
    tmp_path: Path, settings: dict[str, str], says: list[str]
) -> None:
    env = store_env(tmp_path, "refused") | settings
    assert _run(tmp_path, env, "init", "--json").returncode == 0
    port = free_port()

    done = _run(tmp_path, env, "serve", "--port", str(port), "--workers", "2")

    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert all(words in lines[0] for words in says), lines[0]
    assert "Dashboard" not in done.stderr  # refused before anything started
    assert _nothing_listens(port)


def test_gateway_with_two_workers_and_the_memory_limiter_is_refused(tmp_path: Path) -> None:
    env = store_env(tmp_path, "gateway")
    assert _run(tmp_path, env, "init", "--json").returncode == 0
    port = free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "listen": {"host": "127.0.0.1", "port": port},
                "routes": [{"upstream": {"url": "http://127.0.0.1:9"}}],
            }
        )
    )

    started = _run(tmp_path, env, "gateway", "--config", str(config), "--workers", "2")
    checked = _run(tmp_path, env, "gateway", "--config", str(config), "--workers", "2", "--check")

    for done in (started, checked):
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert "KEYSTEAD_LIMITS_URL=redis://" in lines[0]
        assert "limits_url in the keystead: section" in lines[0]
    assert _nothing_listens(port)


# -- exact with a shared limiter -------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _socket_owners(pids: Sequence[int]) -> dict[int, int]:
    """Socket inode -> the process holding it."""
    owners = {}
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue
        for name in names:
            try:
                target = os.readlink(fd_dir / name)
            except OSError:
                continue
            if target.startswith("socket:["):
                owners[int(target[8:-1])] = pid
    return owners


def _accepted(server_port: int) -> dict[int, int]:
    """Client port -> inode of the server's end of that loopback connection."""
    accepted = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], int(fields[9])
        if int(local.rpartition(":")[2], 16) == server_port and inode:
            accepted[int(remote.rpartition(":")[2], 16)] = inode
    return accepted


class Workers:
    """Keep-alive connections to a ``--workers`` server, each with the PID of the
    worker that accepted it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        parts = urlsplit(server.url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.held: dict[int, list[http.client.HTTPConnection]] = {}

    def connect(self, per_worker: int, workers: int = 2) -> None:
        """Open connections (16 at a time) until each of ``workers`` workers holds
        ``per_worker``; which worker accepts one is the kernel's choice."""
        opened: list[http.client.HTTPConnection] = []
        while len(opened) < 400:
            batch = [
                http.client.HTTPConnection(self.host, self.port, timeout=30) for _ in range(16)
            ]
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda c: self._get(c, "/healthz"), batch))
            opened += batch
            self._assign(opened)
            if len(self.held) >= workers and all(
                len(held) >= per_worker for held in self.held.values()
            ):
                return
        pytest.fail(f"the kernel gave {len(opened)} connections to {self._counts()} only")

    def _counts(self) -> dict[int, int]:
        return {pid: len(held) for pid, held in self.held.items()}

    def _assign(self, opened: list[http.client.HTTPConnection]) -> None:
        owners = _socket_owners(_descendants(self.server.pid))
        accepted = _accepted(self.port)
        self.held = {}
        for connection in opened:
            assert connection.sock is not None
            inode = accepted[connection.sock.getsockname()[1]]
            self.held.setdefault(owners[inode], []).append(connection)

    @staticmethod
    def _get(connection: http.client.HTTPConnection, path: str) -> None:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        assert response.status == 200

    def call(
        self, connection: http.client.HTTPConnection, path: str, body: dict[str, Any]
    ) -> tuple[int, Any]:
        connection.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={
                "Authorization": f"Bearer {self.server.root_key}",
                "Content-Type": "application/json",
            },
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")

    def spread(self, path: str, bodies: Sequence[dict[str, Any]]) -> dict[int, list[Any]]:
        """Send ``bodies`` at once over every held connection, in equal shares to
        each worker: the answers by worker."""
        pids = sorted(self.held)
        share: dict[http.client.HTTPConnection, list[dict[str, Any]]] = {}
        for index, body in enumerate(bodies):
            held = self.held[pids[index % len(pids)]]
            share.setdefault(held[(index // len(pids)) % len(held)], []).append(body)

        def send(connection: http.client.HTTPConnection) -> list[Any]:
            answers = []
            for body in share[connection]:
                status, answer = self.call(connection, path, body)
                assert status == 200, answer
                answers.append(answer)
            return answers

        owner = {c: pid for pid, held in self.held.items() for c in held}
        by_worker: dict[int, list[Any]] = {pid: [] for pid in pids}
        with ThreadPoolExecutor(len(share)) as pool:
            for connection, answers in zip(share, pool.map(send, share), strict=True):
                by_worker[owner[connection]] += answers
        return by_worker

    def close(self) -> None:
        for held in self.held.values():
            for connection in held:
                connection.close()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``keystead serve --workers 2`` on SQLite, with the test Redis as the limiter
    (and so, by default, as the invalidation channel)."""
    if not os.environ.get(REDIS_ENV):
        pytest.skip(f"{REDIS_ENV} is not set: needs Redis")
    settings = {
        "KEYSTEAD_LIMITS_URL": os.environ[REDIS_ENV],
        "KEYSTEAD_FAILED_ATTEMPTS_LIMIT": str(FAILED_ATTEMPTS_LIMIT),
        "KEYSTEAD_FAILED_ATTEMPTS_WINDOW_S": "3600",
    }
    home = tmp_path_factory.mktemp("workers")
    with serving(home, settings, workers=2) as running:
        yield running
        workspaces = sqlite3.connect(home / "server.db").execute("SELECT id FROM ks_workspaces")
        drop_workspace_counters([row[0] for row in workspaces])


@pytest.fixture
def workers(redis_server: Server) -> Iterator[Workers]:
    held = Workers(redis_server)
    held.connect(per_worker=8)
    try:
        yield held
    finally:
        held.close()


def _new_key(workers: Workers, **limits: Any) -> dict[str, Any]:
    connection = next(iter(workers.held.values()))[0]
    status, api = workers.call(connection, "/v1/apis", {"name": f"api-{secrets.token_hex(4)}"})
    assert status == 201, api
    status, created = workers.call(connection, "/v1/keys", {"api_id": api["id"], **limits})
    assert status == 201, created
    key: dict[str, Any] = created
    workers.server.revealed.append(key["key"])
    return key


@needs_redis
@pytest.mark.parametrize(
    "limits",
    [
        # ten an hour: the refill (one every 6 minutes) plays no part during the test
        pytest.param({"ratelimits": [{"name": "r", "limit": 10, "duration_s": 3600}]}, id="rate"),
        pytest.param({"quota": {"limit": 10}}, id="quota"),
        pytest.param({"credits": {"remaining": 10}}, id="credits"),
        pytest.param({"concurrency": {"limit": 10, "lease_s": 600}}, id="concurrency"),
    ],
)
def test_two_workers_admit_exactly_the_limit(workers: Workers, limits: dict[str, Any]) -> None:
    """60 verifications, 30 served by each worker, at once over 16 connections: 10
    valid in all. Counted per worker (``memory://``), each would admit 10 of its 30."""
    key = _new_key(workers, **limits)

    answers = workers.spread("/v1/keys/verify", [{"key": key["key"]}] * 60)

    assert [len(got) for got in answers.values()] == [30, 30]
    codes = Counter(a["code"] for got in answers.values() for a in got)
    assert codes["VALID"] == 10, codes
    assert sum(codes.values()) == 60


@needs_redis
def test_two_workers_share_the_failed_attempts_allowance(workers: Workers) -> None:
    """Guessed keys from one client IP, 20 to each worker: the allowance (5) is
    spent across both, not 5 per worker."""
    ip = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"  # this run's own counter
    guesses = [{"key": f"ks_{secrets.token_urlsafe(24)}", "ip": ip} for _ in range(40)]
    try:
        answers = workers.spread("/v1/keys/verify", guesses)
    finally:
        import redis

        client = redis.Redis.from_url(os.environ[REDIS_ENV])
        client.delete(counters.failed_attempts(ip))
        client.close()

    codes = Counter(a["code"] for got in answers.values() for a in got)
    refused = [a for got in answers.values() for a in got if a["code"] == "RATE_LIMITED"]
    assert sum(codes.values()) == 40
    assert len(refused) == 40 - FAILED_ATTEMPTS_LIMIT, codes
    assert {a.get("reason") for a in refused} == {"failed_attempts"}
    # both workers refused some: each learnt of the spent allowance from the limiter
    assert all(any(a["code"] == "RATE_LIMITED" for a in got) for got in answers.values())


@needs_redis
def test_a_key_revoked_through_one_worker_stops_verifying_on_the_other(
    workers: Workers,
) -> None:
    """Worker B caches the key: a change written to the store behind the workers'
    back goes unseen there (the cache answers), while a revocation made through
    worker A reaches B through the invalidation channel, well within the cache's
    60 s."""
    key = _new_key(workers)
    first, second = sorted(workers.held)
    on_a, on_b = workers.held[first][0], workers.held[second][0]
    verify = {"key": key["key"]}
    assert workers.call(on_a, "/v1/keys/verify", verify)[1]["code"] == "VALID"
    assert workers.call(on_b, "/v1/keys/verify", verify)[1]["code"] == "VALID"

    store = sqlite3.connect(workers.server.log.parent / "server.db", timeout=30)
    with store:
        store.execute("UPDATE ks_keys SET enabled = 0 WHERE id = ?", (key["id"],))
    store.close()
    unseen = workers.call(on_b, "/v1/keys/verify", verify)[1]["code"]

    status, revoked = workers.call(on_a, f"/v1/keys/{key['id']}/revoke", {})
    seen_on_a = workers.call(on_a, "/v1/keys/verify", verify)[1]["code"]
    deadline = time.monotonic() + 10
    while (seen_on_b := workers.call(on_b, "/v1/keys/verify", verify)[1]["code"]) == "VALID":
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)

    assert unseen == "VALID"  # B answers from its own cache
    assert status == 200, revoked
    assert seen_on_a == "REVOKED"
    assert seen_on_b == "REVOKED"
