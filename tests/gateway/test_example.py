"""examples/gateway run as its README says, as real processes (on free ports)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .processes import free_port, keystead, start, stop, wait_until_up

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gateway"


@pytest.fixture
def example(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """The example copied to tmp_path, set up as its README says, and running:
    yields (gateway URL, a read/write key, a read-only key)."""
    home = tmp_path / "example"
    shutil.copytree(EXAMPLE, home)
    upstream_port, gateway_port = free_port(), free_port()
    config = home / "gateway.yaml"
    text = config.read_text()
    assert "127.0.0.1:9000" in text and "port: 8080" in text
    text = text.replace("127.0.0.1:9000", f"127.0.0.1:{upstream_port}")
    config.write_text(text.replace("port: 8080", f"port: {gateway_port}"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}

    def cli(*args: str) -> dict[str, str]:
        done = subprocess.run(
            keystead(*args, "--json"), cwd=home, env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, str] = json.loads(done.stdout)
        return result

    cli("init")
    api = cli("apis", "create", "notes", "--prefix", "notes")["id"]
    create = ("keys", "create", "--api", api, "-p", "notes.read")
    writer = cli(*create, "-p", "notes.write", "--owner", "alice")["key"]
    reader = cli(*create, "--owner", "bob")["key"]
    upstream_log, gateway_log = home / "upstream.log", home / "gateway.log"
    upstream = start(
        [sys.executable, "upstream.py", "--port", str(upstream_port)], home, env, upstream_log
    )
    gateway = start(keystead("gateway", "--config", "gateway.yaml"), home, env, gateway_log)
    try:
        wait_until_up(f"http://127.0.0.1:{upstream_port}/health", upstream, upstream_log)
        url = f"http://127.0.0.1:{gateway_port}"
        wait_until_up(f"{url}/health", gateway, gateway_log)
        yield url, writer, reader
    finally:
        stop(gateway)
        stop(upstream)
    log = gateway_log.read_text()
    assert "Traceback" not in log
    assert writer not in log and reader not in log


def test_the_example_protects_the_notes_service(example: tuple[str, str, str]) -> None:
    url, writer, reader = example
    with httpx.Client(base_url=url, timeout=10) as client:
        health = client.get("/health")
        anonymous = client.get("/notes")
        added = client.post("/notes", content="buy milk", headers={"x-api-key": writer})
        listed = client.get("/notes", headers={"authorization": f"Bearer {writer}"})
        not_allowed = client.post("/notes", content="x", headers={"x-api-key": reader})
        own_notes = client.get("/notes", headers={"x-api-key": reader})

    assert health.json() == {"status": "ok"}
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert added.status_code == 201
    assert listed.json() == {"owner": "alice", "notes": ["buy milk"]}
    assert listed.headers["ratelimit-policy"] == '"gateway-reads";q=100;w=60'
    assert not_allowed.status_code == 403
    assert own_notes.json() == {"owner": "bob", "notes": []}
