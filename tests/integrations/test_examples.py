"""The runnable examples, each started as its own process on a free loopback
port against a fresh store: a key's request is served, one without a key is
refused with 401, and one past the key's rate limit with 429; once stopped, the
example has written every request's usage record."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from keystead.config import Settings
from keystead.sync import SyncKeystead

from .kit import assert_refused, free_socket

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CASES = [
    pytest.param("flask_app", ["app.py"], "/api/data", "data.read", id="flask"),
    pytest.param("fastapi_app", ["app.py"], "/documents", "documents.read", id="fastapi"),
    pytest.param(
        "django_project",
        ["manage.py", "runserver", "{address}", "--noreload"],
        "/documents",
        "documents.read",
        id="django",
    ),
]


@contextmanager
def running(
    folder: str,
    argv: list[str],
    env: dict[str, str],
    tmp: Path,
    stop: signal.Signals = signal.SIGINT,
) -> Iterator[str]:
    """The example as a process; yields its base URL once ``/health`` answers,
    then stops it with ``stop``."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    address = f"127.0.0.1:{port}"
    log = (tmp / f"{folder}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, *(arg.format(address=address) for arg in argv)],
        cwd=EXAMPLES / folder,
        env={**env, "PORT": str(port)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://{address}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp / f"{folder}.log").read_text()
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the example did not start"
            time.sleep(0.1)
        yield base
    finally:
        process.send_signal(stop)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def example_store(
    tmp_path: Path, permission: str, *, limit: int, duration_s: float
) -> tuple[Settings, dict[str, str], str, str]:
    """A fresh SQLite store with one key (``permission``, one rate limit): its
    settings, the example's environment (no other KEYSTEAD_*), the key and its id."""
    database_url = f"sqlite:///{tmp_path / 'keystead.db'}"
    secret = secrets.token_hex(32)
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        secret=secret,
        secret_file=tmp_path / "keystead.secret",
    )
    with SyncKeystead.open(settings=settings) as ks:
        admin = ks.workspaces.local_operator()
        api = ks.apis.create(admin, name="examples", prefix="ex")
        limits = [{"name": "requests", "limit": limit, "duration_s": duration_s}]
        created = ks.keys.create(admin, api_id=api.id, permissions=[permission], ratelimits=limits)
    env = {name: value for name, value in os.environ.items() if not name.startswith("KEYSTEAD_")}
    env.update(KEYSTEAD_DATABASE_URL=database_url, KEYSTEAD_SECRET=secret)
    return settings, env, created.plaintext, created.key.id


@pytest.mark.slow
@pytest.mark.parametrize(("folder", "argv", "path", "permission"), CASES)
def test_example(folder: str, argv: list[str], path: str, permission: str, tmp_path: Path) -> None:
    settings, env, key, key_id = example_store(tmp_path, permission, limit=3, duration_s=60)
    with running(folder, argv, env, tmp_path) as base, httpx.Client(base_url=base) as client:
        served = [client.get(path, headers={"Authorization": f"Bearer {key}"}) for _ in range(3)]
        missing = client.get(path)
        limited = client.get(path, headers={"X-API-Key": key})
    with SyncKeystead.open(settings=settings) as ks:  # written by the example on its way out
        ks.usage.flush()
        records = ks.usage.records(ks.workspaces.local_operator(), key_id=key_id)
    assert sorted(r.status for r in records) == [200, 200, 200, 429]
    assert all(r.path == path and r.response_ms is not None for r in records)
    assert [r.status_code for r in served] == [200, 200, 200], served[0].text
    assert served[0].headers["ratelimit-policy"] == '"requests";q=3;w=60'
    assert_refused(missing, 401)
    assert assert_refused(limited, 429)["code"] == "RATE_LIMITED"
    assert key not in served[0].text
