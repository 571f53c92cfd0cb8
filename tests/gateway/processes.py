"""Real processes for the CLI and example tests: ``keystead`` commands, servers
started with their output in a log file, stopped politely then firmly."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path


def keystead(*args: str) -> list[str]:
    return [sys.executable, "-m", "keystead.cli", *args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


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


__all__ = ["free_port", "keystead", "start", "stop"]
