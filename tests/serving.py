"""A real ``keystead serve`` process for end-to-end tests: a temporary SQLite store
and secret file, initialised with ``keystead init``, on a free loopback port;
stopped when the block ends. (A module, not a conftest: imported where needed.)"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from gateway.processes import free_port, keystead, stop


@dataclass
class Server:
    url: str
    root_key: str
    log: Path
    pid: int
    """The ``keystead serve`` process (with ``--workers``, the workers' parent)."""
    revealed: list[str] = field(default_factory=list)
    """Secrets handed out through this server (for checks of its log)."""


@contextmanager
def serving(
    home: Path, settings: Mapping[str, str] | None = None, *, workers: int = 1
) -> Iterator[Server]:
    """``keystead init`` then ``keystead serve --workers workers`` in ``home``, with
    no KEYSTEAD_* setting of the test environment but ``settings``; its output goes
    to ``home/server.log``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    env |= {
        "KEYSTEAD_DATABASE_URL": f"sqlite:///{home / 'server.db'}",
        "KEYSTEAD_SECRET_FILE": str(home / "server.secret"),
        "KEYSTEAD_LOG_LEVEL": "info",
        **(settings or {}),
    }
    init = subprocess.run(
        keystead("init", "--json"),
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert init.returncode == 0, init.stderr
    root_key = json.loads(init.stdout)["root_key"]
    port = free_port()
    log = home / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            keystead(
                "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)
            ),
            env=env,
            cwd=home,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log)
        yield Server(url=url, root_key=root_key, log=log, pid=process.pid, revealed=[root_key])
    finally:
        stop(process)


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"keystead serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"keystead serve did not become healthy:\n{log.read_text()}")


__all__ = ["Server", "serving"]
