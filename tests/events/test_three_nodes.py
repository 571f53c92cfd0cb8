"""Three real ``keystead serve`` processes on one PostgreSQL schema: a revoke,
disable, update, delete or grace-period end through node 1 reaches the caches of
nodes 2 and 3 within 1 s, over PostgreSQL LISTEN/NOTIFY and over Redis pub/sub."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from keystead.config import Settings
from keystead.service import Keystead

DEADLINE_S = 1.0
START_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Node:
    def __init__(self, env: dict[str, str], cwd: Path, index: int) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"node{index}.log"
        args = [sys.executable, "-m", "keystead.cli", "serve", "--port", str(self.port)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, client: httpx.Client) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"node exited: {self.log.read_text()}")
            try:
                if client.get(f"{self.url}/v1/apis").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"node did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
async def root_key(settings: Settings) -> str:
    """Initialise the schema through the library: the first root key."""
    ks = await Keystead.open(settings=settings.model_copy(update={"invalidation_url": "none"}))
    try:
        return (await ks.workspaces.init("default")).root_key.plaintext
    finally:
        await ks.close()


CHANNELS = [
    pytest.param("postgresql", id="notify"),
    pytest.param(
        "redis",
        id="redis",
        marks=pytest.mark.skipif(
            not os.environ.get("KEYSTEAD_TEST_REDIS_URL"),
            reason="KEYSTEAD_TEST_REDIS_URL is not set: needs Redis",
        ),
    ),
]


@pytest.fixture(params=CHANNELS)
def nodes(
    request: pytest.FixtureRequest,
    settings: Settings,
    server_secret: str,
    root_key: str,
    tmp_path: Path,
) -> Iterator[list[Node]]:
    """Three servers on one PostgreSQL schema, told of each other's changes by
    PostgreSQL LISTEN/NOTIFY or by Redis pub/sub."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    env |= {
        "KEYSTEAD_SECRET": server_secret,
        "KEYSTEAD_DATABASE_URL": settings.database_url,
        "KEYSTEAD_LIMITS_URL": "memory://",
        "KEYSTEAD_LOG_LEVEL": "warning",
    }
    if request.param == "redis":
        env["KEYSTEAD_INVALIDATION_URL"] = os.environ["KEYSTEAD_TEST_REDIS_URL"]
    started: list[Node] = []
    try:
        for index in (1, 2, 3):
            started.append(Node(env, tmp_path, index))
        yield started
    finally:
        for node in started:
            node.stop()


class Cluster:
    def __init__(self, client: httpx.Client, nodes: list[Node]) -> None:
        self.client = client
        self.first, self.others = nodes[0], nodes[1:]
        api = client.post(f"{self.first.url}/v1/apis", json={"name": "shared"})
        assert api.status_code == 201, api.text
        self.api_id = api.json()["id"]

    def key(self, **fields: object) -> tuple[str, str]:
        created = self.client.post(
            f"{self.first.url}/v1/keys", json={"api_id": self.api_id, **fields}
        )
        assert created.status_code == 201, created.text
        return created.json()["key"], created.json()["id"]

    def code_on(self, node: Node, key: str, permissions: str | None = None) -> str:
        body = {"key": key} if permissions is None else {"key": key, "permissions": permissions}
        answer = self.client.post(f"{node.url}/v1/keys/verify", json=body)
        assert answer.status_code == 200, answer.text
        code: str = answer.json()["code"]
        return code

    def change_reaches_the_others(
        self, key: str, change: Callable[[], httpx.Response], expected: str, **verify: str
    ) -> float:
        """Cache the key on the other nodes, change it through the first, and wait
        until both others answer ``expected``: returns the seconds that took."""
        assert [self.code_on(node, key, **verify) for node in self.others] == ["VALID"] * 2
        answer = change()
        assert answer.status_code < 300, answer.text
        started = time.monotonic()
        pending = list(self.others)
        while pending:
            pending = [n for n in pending if self.code_on(n, key, **verify) != expected]
            elapsed = time.monotonic() - started
            assert elapsed < DEADLINE_S, f"{len(pending)} node(s) still not {expected}"
            if pending:
                time.sleep(0.02)
        return time.monotonic() - started


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_every_change_on_one_server_reaches_the_other_two_within_a_second(
    nodes: list[Node], root_key: str
) -> None:
    headers = {"Authorization": f"Bearer {root_key}"}
    with httpx.Client(headers=headers, timeout=5.0) as client:
        for node in nodes:
            node.wait_ready(client)
        cluster = Cluster(client, nodes)
        url = f"{cluster.first.url}/v1/keys"

        key, key_id = cluster.key()
        cluster.change_reaches_the_others(
            key, lambda: client.post(f"{url}/{key_id}/revoke"), "REVOKED"
        )
        key, key_id = cluster.key()
        cluster.change_reaches_the_others(
            key, lambda: client.post(f"{url}/{key_id}/disable"), "DISABLED"
        )
        key, key_id = cluster.key(permissions=["docs.read"])
        cluster.change_reaches_the_others(
            key,
            lambda: client.patch(f"{url}/{key_id}", json={"permissions": ["docs.list"]}),
            "INSUFFICIENT_PERMISSIONS",
            permissions="docs.read",
        )
        key, key_id = cluster.key()
        cluster.change_reaches_the_others(
            key, lambda: client.delete(f"{url}/{key_id}"), "NOT_FOUND"
        )
        # the end of a grace period: an emergency rotation ends it at once
        key, key_id = cluster.key()
        cluster.change_reaches_the_others(
            key,
            lambda: client.post(f"{url}/{key_id}/rotate", json={"grace_period_s": 0}),
            "EXPIRED",
        )
