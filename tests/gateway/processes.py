"""Real processes for the CLI and example tests: ``keystead`` commands, servers
started with their output in a log file, stopped politely then firmly."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def keystead(*args: str) -> list[str]:
    return [sys.executable, "-m", "keystead.cli", *args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def store_env(home: Path, name: str) -> dict[str, str]:
    """This environment without KEYSTEAD_* settings, on a SQLite store in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYSTEAD_")}
    env["KEYSTEAD_DATABASE_URL"] = f"sqlite:///{home / f'{name}.db'}"
    env["KEYSTEAD_SECRET_FILE"] = str(home / f"{name}.secret")
    return env


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until ``url`` answers; fail with the log if the process exits or 30 s pass."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args!r} exited with {process.returncode}:\n{log.read_text()}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"{url} did not answer:\n{log.read_text()}")


def start(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


__all__ = ["free_port", "keystead", "start", "stop", "store_env", "wait_until_up"]
