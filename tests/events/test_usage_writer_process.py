"""Usage written by a writer process beside the serving one: the same records
and rollups as inline, exports from the child, a killed child replaced with
its batch written again, and a clean close that ends the child."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.events.usage.writer import ProcessWriter
from keystead.service import Keystead

CONTEXT = VerifyContext(ip="8.8.8.8", user_agent="curl/8", method="GET", path="/v1/things")


@pytest.fixture
async def writing(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[tuple[Keystead, Path]]:
    export = tmp_path / "usage.jsonl"
    configured = settings.model_copy(
        update={"usage_writer": "process", "export_urls": [f"jsonl://{export}"]}
    )
    ks = await Keystead.open(settings=configured, clock=clock)
    try:
        yield ks, export
    finally:
        await ks.close()


def _writer(ks: Keystead) -> ProcessWriter:
    writer = ks.usage.recorder.writer
    assert isinstance(writer, ProcessWriter)
    return writer


async def test_the_writer_process_writes_records_rollups_and_exports(
    writing: tuple[Keystead, Path],
) -> None:
    ks, export = writing
    admin = await ks.workspaces.local_operator()
    api = await ks.apis.create(admin, name="served")
    created = await ks.keys.create(admin, api_id=api.id, owner_id="alice")
    for _ in range(3):
        assert (await ks.verify(created.plaintext, CONTEXT)).valid
    verdict = await ks.verify(created.plaintext, CONTEXT, record=False)
    await ks.usage.complete(verdict, CONTEXT, status=200, response_ms=3.0, tags=["t"])
    await ks.flush()

    writer = _writer(ks)
    assert writer.pid is not None and writer.pid != os.getpid()
    records = await ks.usage.records(admin)
    assert len(records) == 4
    assert {(r.key_id, r.country, r.user_agent) for r in records} == {
        (created.key.id, "US", "curl/8")
    }
    assert records[0].status == 200 and records[0].tags == ("t",)
    (_, day), *_ = await ks.usage.rollups(admin, "key", created.key.id, "day")
    assert day.count == 4 and day.statuses == {"2xx": 1}
    await ks.close()  # the child flushes its export sink as it ends
    assert writer.pid is None
    exported = [json.loads(line) for line in export.read_text().splitlines()]
    assert [r["fields"]["key_id"] for r in exported if r["kind"] == "usage"] == [created.key.id] * 4
    assert created.plaintext not in export.read_text()


async def test_a_killed_writer_is_replaced_and_its_batch_written_again(
    writing: tuple[Keystead, Path],
) -> None:
    ks, _ = writing
    admin = await ks.workspaces.local_operator()
    api = await ks.apis.create(admin, name="served")
    created = await ks.keys.create(admin, api_id=api.id)
    await ks.verify(created.plaintext, CONTEXT)
    await ks.flush()
    writer = _writer(ks)
    first = writer.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)

    for _ in range(5):
        await ks.verify(created.plaintext, CONTEXT)
    await ks.flush()  # the dead child fails this batch: it stays in the buffer
    await ks.flush()  # a new child writes it
    assert ks.usage.recorder.pending == 0
    assert writer.pid not in (None, first)
    assert len(await ks.usage.records(admin)) == 6
    assert ks.usage.recorder.dropped == 0


async def test_a_writer_that_cannot_open_the_store_fails_the_batch(
    settings: Settings, clock: ManualClock
) -> None:
    broken = settings.model_copy(update={"usage_writer": "process"})
    ks = await Keystead.open(settings=broken, clock=clock)
    try:
        ks.usage.recorder.writer = ProcessWriter("nosuch://x", [], geoip=False)
        admin = await ks.workspaces.local_operator()
        await ks.verify("not-a-key", principal=admin)
        await ks.flush()
        assert ks.usage.recorder.failed_batches == 1
        assert ks.usage.recorder.pending == 1  # kept for the next flush
    finally:
        ks.usage.recorder.buffer.clear()
        await ks.close()
