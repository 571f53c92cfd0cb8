"""The Flask example under gunicorn's threaded workers (``-k gthread``), as a
real process: concurrent requests on one key get exactly its limit served,
whichever thread verified them (the worker's own, or the service's loop for
the first sight of the key), and after a graceful stop every request's usage
record is written."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from keystead.sync import SyncKeystead

from .test_examples import example_store, running

LIMIT = 25
REQUESTS = 80


@pytest.mark.slow
def test_threaded_workers_spend_a_limit_exactly(tmp_path: Path) -> None:
    settings, env, key, key_id = example_store(tmp_path, "data.read", limit=LIMIT, duration_s=3600)
    argv = ["-m", "gunicorn", "-k", "gthread", "--threads", "8", "-w", "1", "-b", "{address}"]
    headers = {"Authorization": f"Bearer {key}"}
    with running("flask_app", [*argv, "app:app"], env, tmp_path, stop=signal.SIGTERM) as base:
        with httpx.Client(base_url=base) as client, ThreadPoolExecutor(16) as pool:
            answers = list(
                pool.map(lambda _: client.get("/api/data", headers=headers), range(REQUESTS))
            )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * LIMIT + [429] * (REQUESTS - LIMIT)
    with SyncKeystead.open(settings=settings) as ks:  # written by the worker on its way out
        ks.usage.flush()
        records = ks.usage.records(ks.workspaces.local_operator(), key_id=key_id)
    assert sorted(r.status or 0 for r in records) == statuses
