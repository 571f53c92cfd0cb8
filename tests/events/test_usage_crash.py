"""Crash loss: a process killed with SIGKILL loses at most its unflushed buffer,
and nothing it flushed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from keystead.config import Settings
from keystead.store import open_store

CHILD = """
import asyncio, json, os, signal, sys
from keystead.config import Settings
from keystead.service import Keystead

cfg = json.loads(sys.argv[1])

async def main() -> None:
    settings = Settings(
        _env_file=None, database_url=cfg["url"], secret=cfg["secret"],
        secret_file=cfg["secret_file"], usage_flush_interval_s=3600, usage_batch_size=100000,
    )
    ks = await Keystead.open(settings=settings)
    admin = await ks.workspaces.local_operator()
    api = await ks.apis.create(admin, name="crash")
    key = await ks.keys.create(admin, api_id=api.id)
    for _ in range(cfg["flushed"]):
        await ks.verify(key.plaintext)
    await ks.usage.flush()
    for _ in range(cfg["unflushed"]):
        await ks.verify(key.plaintext)
    pending = ks.usage.recorder.pending
    print(json.dumps({"workspace": admin.workspace_id, "pending": pending}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


@pytest.mark.parametrize(("flushed", "unflushed"), [(40, 0), (40, 25)])
async def test_sigkill_loses_only_the_unflushed_buffer(
    settings: Settings, flushed: int, unflushed: int
) -> None:
    assert settings.secret is not None
    cfg = {
        "url": settings.database_url,
        "secret": settings.secret.get_secret_value(),
        "secret_file": str(settings.secret_file),
        "flushed": flushed,
        "unflushed": unflushed,
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    report = json.loads(child.stdout)
    assert report["pending"] == unflushed <= settings.usage_buffer_size
    store = open_store(settings.database_url)
    try:
        stored = await store.list_usage(report["workspace"], limit=10_000)
    finally:
        await store.close()
    # everything flushed survived; exactly the buffer at the time of the kill is lost
    assert len(stored) == flushed
    assert all(r.code == "VALID" for r in stored)
