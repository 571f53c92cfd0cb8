"""Redis Cluster: a decision is one script on the slot of its hash tag; keys
of different slots are refused before anything is sent. Starts a throwaway
three-node cluster on free ports."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keystead.errors import ValidationError
from keystead.limits import Check, Concurrency, Credits, Quota, RateLimit, open_limiter

from ._support import NOW

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """Ports whose cluster bus port (port + 10000) is free and valid too."""
    ports: list[int] = []
    for port in random.Random().sample(range(20_000, 50_000), 200):
        if _free(port) and _free(port + 10_000):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise RuntimeError("no free ports")


def wait_ready(cli: str, port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ping = subprocess.run([cli, "-p", str(port), "ping"], capture_output=True, timeout=5)
        if ping.stdout.strip() == b"PONG":
            return
        time.sleep(0.05)
    raise TimeoutError(f"redis-server on {port} did not start")


@pytest.fixture
def cluster_url(tmp_path: Path) -> Iterator[str]:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        pytest.skip("redis-server and redis-cli are needed for a local cluster")
    ports = free_ports(3)
    nodes = []
    try:
        for port in ports:
            workdir = tmp_path / str(port)
            workdir.mkdir()
            args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
            args += ["--appendonly", "no", "--cluster-enabled", "yes", "--dir", str(workdir)]
            nodes.append(subprocess.Popen(args, stdout=subprocess.DEVNULL))
        for port in ports:
            wait_ready(cli, port)
        create = [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports)]
        create += ["--cluster-replicas", "0", "--cluster-yes"]
        subprocess.run(create, check=True, capture_output=True, timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            probe = [cli, "-p", str(ports[0]), "cluster", "info"]
            info = subprocess.run(probe, capture_output=True, text=True, timeout=5).stdout
            if "cluster_state:ok" in info:
                break
            time.sleep(0.1)
        yield f"redis+cluster://127.0.0.1:{ports[0]}"
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            node.wait(10)


async def test_decisions_per_hash_tag(cluster_url: str) -> None:
    limiter = open_limiter(cluster_url)
    try:
        for tag in ("o:acme", "o:globex", "k:key_9"):  # likely on different nodes
            checks = [
                Check(f"{{{tag}}}rl", RateLimit("r", 1, 60.0)),
                Check(f"{{{tag}}}q", Quota(5, "day")),
                Check(f"{{{tag}}}c", Credits(3)),
                Check(f"{{{tag}}}n", Concurrency(2)),
            ]
            first = await limiter.decide(checks, NOW)
            assert first.allowed and [r.remaining for r in first.results] == [0, 4, 2, 1]
            refused = await limiter.decide(checks, NOW)
            assert not refused.allowed and refused.code == "RATE_LIMITED"
            assert await limiter.get_credits(f"{{{tag}}}c") == 2
            await limiter.release(first.lease_ids)
            await limiter.clear([c.key for c in checks])
        with pytest.raises(ValidationError, match="hash tag"):
            spec = RateLimit("r", 1, 1.0)
            await limiter.decide([Check("{a}x", spec), Check("{b}x", spec)], NOW)
    finally:
        await limiter.close()
