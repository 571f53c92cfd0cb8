"""The Flask example under gunicorn's threaded workers (``-k gthread``), as a
real process: concurrent requests on one key get exactly its limit served,
whichever thread verified them (the worker's own, or the service's loop for
the first sight of the key), and after a graceful stop every request's usage
record is written."""

from __future__ import annotations

import os
import secrets
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from keystead.config import Settings
from keystead.sync import SyncKeystead

from .test_examples import running

LIMIT = 25
REQUESTS = 80


@pytest.mark.slow
def test_threaded_workers_spend_a_limit_exactly(tmp_path: Path) -> None:
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
        limits = [{"name": "requests", "limit": LIMIT, "duration_s": 3600}]
        created = ks.keys.create(admin, api_id=api.id, permissions=["data.read"], ratelimits=limits)
    env = {name: value for name, value in os.environ.items() if not name.startswith("KEYSTEAD_")}
    env.update(KEYSTEAD_DATABASE_URL=database_url, KEYSTEAD_SECRET=secret)
    argv = ["-m", "gunicorn", "-k", "gthread", "--threads", "8", "-w", "1", "-b", "{address}"]
    headers = {"Authorization": f"Bearer {created.plaintext}"}
    with running("flask_app", [*argv, "app:app"], env, tmp_path, stop=signal.SIGTERM) as base:
        with httpx.Client(base_url=base) as client, ThreadPoolExecutor(16) as pool:
            answers = list(
                pool.map(lambda _: client.get("/api/data", headers=headers), range(REQUESTS))
            )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * LIMIT + [429] * (REQUESTS - LIMIT)
    with SyncKeystead.open(settings=settings) as ks:  # written by the worker on its way out
        ks.usage.flush()
        records = ks.usage.records(ks.workspaces.local_operator(), key_id=created.key.id)
    assert sorted(r.status or 0 for r in records) == statuses
