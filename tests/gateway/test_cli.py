"""``keystead gateway`` as a real process: checking a configuration, refusing a
bad one at start, and serving, recording usage and reloading for real."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from keystead.config import Settings
from keystead.service import Keystead

from .processes import free_port, keystead, start, stop
from .upstreams import echo, serving

pytestmark = pytest.mark.slow


@dataclass
class Store:
    home: Path
    env: dict[str, str]
    key: str
    key_id: str

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            keystead(*args), env=self.env, cwd=self.home, capture_output=True, text=True, timeout=60
        )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """An initialised SQLite store with one API and one key."""
    home = tmp_path_factory.mktemp("gateway-cli")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    env |= {
        "KEYSTEAD_DATABASE_URL": f"sqlite:///{home / 'gateway.db'}",
        "KEYSTEAD_SECRET_FILE": str(home / "gateway.secret"),
        "KEYSTEAD_USAGE_FLUSH_INTERVAL_S": "0.2",
    }
    partial = Store(home, env, "", "")
    assert partial.run("init", "--json").returncode == 0
    api = json.loads(partial.run("apis", "create", "shop", "--prefix", "shop", "--json").stdout)
    created = json.loads(partial.run("keys", "create", "--api", api["id"], "--json").stdout)
    return Store(home, env, created["key"], created["id"])


def write_config(path: Path, port: int, upstream: str, prefix: str = "/") -> None:
    config = {
        "listen": {"host": "127.0.0.1", "port": port},
        "routes": [{"match": {"path_prefix": prefix}, "upstream": {"url": upstream}}],
    }
    path.write_text(yaml.safe_dump(config))


def test_check_accepts_a_good_file_and_names_the_field_of_a_bad_one(store: Store) -> None:
    good = store.home / "good.yaml"
    write_config(good, 8080, "http://127.0.0.1:9")
    bad = store.home / "bad.yaml"
    bad.write_text("routes:\n  - upstream: {url: 'http://127.0.0.1:9', timeout_s: fast}\n")

    accepted = store.run("gateway", "--check", "--config", str(good))
    refused = store.run("gateway", "--check", "--config", str(bad))
    missing = store.run("gateway", "--check", "--config", str(store.home / "nope.yaml"))

    assert accepted.returncode == 0
    assert "valid, 1 route" in accepted.stderr
    assert refused.returncode == 1
    assert "routes[0].upstream.timeout_s: must be a number" in refused.stderr
    assert missing.returncode == 1
    assert "cannot read" in missing.stderr
    for result in (accepted, refused, missing):
        assert "Traceback" not in result.stdout + result.stderr


def test_a_bad_configuration_stops_the_start(store: Store) -> None:
    bad = store.home / "unstartable.yaml"
    bad.write_text("routes:\n  - upstream: {url: 'http://127.0.0.1:9'}\n    auth: sometimes\n")
    result = store.run("gateway", "--config", str(bad))
    assert result.returncode != 0
    assert "routes[0].auth: must be one of required, optional, none" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def gateway_process(store: Store) -> Iterator[tuple[Path, int, subprocess.Popen[bytes], Path]]:
    config = store.home / "live.yaml"
    port = free_port()
    write_config(config, port, "http://127.0.0.1:9")  # the test points it at its upstream
    log = store.home / "gateway.log"
    process = start(keystead("gateway", "--config", str(config)), store.home, store.env, log)
    try:
        yield config, port, process, log
    finally:
        stop(process)


async def test_the_gateway_process_proxies_records_and_reloads(
    store: Store, gateway_process: tuple[Path, int, subprocess.Popen[bytes], Path]
) -> None:
    config, port, process, log = gateway_process
    url = f"http://127.0.0.1:{port}"
    async with serving(echo) as first, serving(echo) as second:
        write_config(config, port, first.url)
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            await _until_up(client, process, log, first.url)
            served = await client.get("/items?page=2", headers={"x-api-key": store.key})
            refused = await client.get("/items", headers={"x-api-key": store.key + "x"})
            write_config(config, port, second.url, prefix="/v2/")
            moved = await _until_routed(client, store.key)

    assert served.status_code == 200, log.read_text()
    seen = dict(served.json()["headers"])
    assert seen["x-keystead-key-id"] == store.key_id
    assert "x-api-key" not in seen
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert moved.status_code == 200 and len(second.seen) == 1, log.read_text()
    statuses = await _recorded_statuses(store)
    assert 200 in statuses, log.read_text()
    process.terminate()
    assert process.wait(timeout=15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    text = log.read_text()
    assert "Application shutdown complete" in text
    assert "Traceback" not in text
    assert store.key not in text


async def _until_up(
    client: httpx.AsyncClient, process: subprocess.Popen[bytes], log: Path, upstream: str
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"keystead gateway exited with {process.returncode}:\n{log.read_text()}")
        try:
            answer = await client.get("/")
            if answer.status_code == 401:  # up, and routing to the configuration
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    pytest.fail(f"keystead gateway did not start:\n{log.read_text()}")


async def _until_routed(client: httpx.AsyncClient, key: str) -> httpx.Response:
    """Wait for the reload that routes /v2/ (only) to the second upstream.

    ``/items`` unrouted proves the new configuration is in force; only then is
    ``/v2/items`` asked. (Asked the other way round, the reload could fall between
    the two requests: ``/v2/items`` still served by the first upstream under the
    old catch-all route, then ``/items`` refused under the new one.)"""
    for _ in range(100):
        unrouted = await client.get("/items", headers={"x-api-key": key})
        if unrouted.status_code == 404:
            return await client.get("/v2/items", headers={"x-api-key": key})
        await asyncio.sleep(0.1)
    raise AssertionError("the changed configuration was not applied")


async def _recorded_statuses(store: Store) -> list[int | None]:
    """The statuses of the key's usage records, read back from the store."""
    settings = Settings(
        _env_file=None,
        database_url=store.env["KEYSTEAD_DATABASE_URL"],
        secret_file=Path(store.env["KEYSTEAD_SECRET_FILE"]),
        usage_enabled=False,
    )
    ks = await Keystead.open(settings=settings, create_secret=False)
    try:
        operator = await ks.workspaces.local_operator()
        for _ in range(100):
            records = await ks.usage.records(operator, key_id=store.key_id)
            if records:
                return [record.status for record in records]
            await asyncio.sleep(0.1)
        return []
    finally:
        await ks.close()
