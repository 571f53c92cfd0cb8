"""Three real ``keystead serve`` processes on one PostgreSQL schema: a revoke
through node 1 reaches the caches of nodes 2 and 3 within 1 s (LISTEN/NOTIFY)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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


@pytest.fixture
def nodes(
    settings: Settings, server_secret: str, root_key: str, tmp_path: Path
) -> Iterator[list[Node]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    env |= {
        "KEYSTEAD_SECRET": server_secret,
        "KEYSTEAD_DATABASE_URL": settings.database_url,
        "KEYSTEAD_LIMITS_URL": "memory://",
        "KEYSTEAD_LOG_LEVEL": "warning",
    }
    started: list[Node] = []
    try:
        for index in (1, 2, 3):
            started.append(Node(env, tmp_path, index))
        yield started
    finally:
        for node in started:
            node.stop()


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_revoke_on_one_server_reaches_the_other_two_within_a_second(
    nodes: list[Node], root_key: str
) -> None:
    headers = {"Authorization": f"Bearer {root_key}"}
    with httpx.Client(headers=headers, timeout=5.0) as client:
        for node in nodes:
            node.wait_ready(client)
        first, others = nodes[0], nodes[1:]
        api = client.post(f"{first.url}/v1/apis", json={"name": "shared"})
        assert api.status_code == 201, api.text
        created = client.post(f"{first.url}/v1/keys", json={"api_id": api.json()["id"]})
        assert created.status_code == 201, created.text
        key, key_id = created.json()["key"], created.json()["id"]

        def code_on(node: Node) -> str:
            answer = client.post(f"{node.url}/v1/keys/verify", json={"key": key})
            assert answer.status_code == 200, answer.text
            code: str = answer.json()["code"]
            return code

        assert [code_on(node) for node in others] == ["VALID", "VALID"]  # now cached there
        revoked = client.post(f"{first.url}/v1/keys/{key_id}/revoke")
        assert revoked.status_code == 200, revoked.text
        started = time.monotonic()
        pending = list(others)
        while pending:
            pending = [node for node in pending if code_on(node) != "REVOKED"]
            elapsed = time.monotonic() - started
            assert elapsed < DEADLINE_S, f"{len(pending)} node(s) still not REVOKED"
            if pending:
                time.sleep(0.02)
