"""Secrets for the tests of ``keystead run``, ``secrets export`` and
``keystead.secrets``: written through the SDK the environment names (the local store
of the ``ready`` fixture, or its server), and ``keystead run`` as a real process."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from keystead.secrets import default_client

STRIPE = "sk_live_51HxQ2eZvKYlo2CTestValue"
WEBHOOK = "whsec_9aB8cD7eF6gH5iJ4"


def put(path: str, data: Mapping[str, str], *, mount: str = "secret") -> dict[str, Any]:
    """Write a version of ``mount/path`` where the environment points."""
    client = default_client()
    try:
        return client.put_secret(path, data, mount=mount)
    finally:
        client.close()


def audit(action: str) -> list[dict[str, Any]]:
    """The audit entries of ``action`` where the environment points, newest first."""
    client = default_client()
    try:
        items: list[dict[str, Any]] = client.list_audit(action=action)["items"]
    finally:
        client.close()
    return items


def grant(*permissions: str) -> str:
    """A new service token of the environment's workspace holding ``permissions``."""
    client = default_client()
    try:
        created = client.create_root_key(name="app", permissions=list(permissions))
    finally:
        client.close()
    key: str = created["key"]
    return key


def fingerprint(value: str) -> str:
    """What a child prints instead of a value (a value itself would be masked)."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def run_args(*args: str) -> list[str]:
    return [sys.executable, "-m", "keystead.cli", "run", *args]


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def run(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        run_args(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(env if env is not None else os.environ),
        check=False,
    )


def start(*args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        run_args(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env if env is not None else os.environ),
    )


def wait_for(path: Path, process: subprocess.Popen[str], deadline_s: float = 60) -> None:
    """Until the child has written ``path`` (it is up); fail if ``keystead run`` ends."""
    deadline = time.monotonic() + deadline_s
    while not path.exists():
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"keystead run ended with {process.returncode}: {out}{err}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("the child did not start")
        time.sleep(0.02)


def read_line(stream: IO[str]) -> str:
    return stream.readline().rstrip("\n")


__all__ = [
    "STRIPE",
    "WEBHOOK",
    "audit",
    "fingerprint",
    "grant",
    "put",
    "python",
    "read_line",
    "run",
    "start",
    "wait_for",
]
