"""A poison value never stops usage recording: hostile text in every recorded
field is cleaned when the record is built, and a record the store refuses for
its content is split out of its batch, dropped and counted, while the records
around it are written. Only an unreachable store is retried. On every store,
with the inline writer and the writer process."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.core.usage import Rollup, RollupKey, UsageRecord
from keystead.errors import StoreUnavailable, ValidationError
from keystead.events.usage import UsageRecorder
from keystead.http.metrics import KeysteadCollector
from keystead.service import Keystead
from poison import POISON_PARAMS, Poison, cleaned

NOW = 1_750_000_000.0
CONTEXT = VerifyContext(ip="8.8.8.8", user_agent="curl/8", method="GET", path="/v1/things")
COLUMNS = {"ip": 64, "user_agent": 512, "method": 16, "path": 1024}
"""The widest text each field's column holds."""


@pytest.fixture(params=["inline", "process"])
async def service(
    request: pytest.FixtureRequest, settings: Settings, clock: ManualClock
) -> AsyncIterator[Keystead]:
    tuned = settings.model_copy(
        update={"usage_writer": request.param, "usage_flush_interval_s": 3600.0}
    )
    ks = await Keystead.open(settings=tuned, clock=clock)
    try:
        yield ks
    finally:
        await ks.close()


def good(workspace_id: str, i: int) -> UsageRecord:
    return UsageRecord(NOW + i, workspace_id, "api_1", "key_1", "alice", "VALID", ip="8.8.8.8")


def bad(workspace_id: str, i: int) -> UsageRecord:
    """A record no store takes: a byte count beyond 64 bits."""
    return good(workspace_id, i)._replace(bytes_in=2**70)


async def test_a_refused_record_is_dropped_and_the_rest_of_its_batch_written(
    service: Keystead, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await service.workspaces.local_operator()
    recorder = service.usage.recorder
    poisoned = {3, 17, 18, 40}
    for i in range(50):
        await recorder.add((bad if i in poisoned else good)(admin.workspace_id, i))
    with caplog.at_level(logging.WARNING, logger="keystead.usage"):
        await recorder.flush()
    assert recorder.pending == 0
    assert (recorder.refused, recorder.written, recorder.failed_batches) == (4, 46, 0)
    stored = await service.usage.records(admin, limit=100)
    assert sorted(r.at - NOW for r in stored) == [i for i in range(50) if i not in poisoned]
    dropped = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(dropped) == 4
    assert all("bytes_in" in r.getMessage() for r in dropped)
    assert all(str(2**70) not in r.getMessage() for r in caplog.records)
    metrics = {family.name: family for family in KeysteadCollector(service).collect()}
    assert metrics["keystead_usage_records_refused"].samples[0].value == 4

    # the store keeps working: the next record is written and read back
    await recorder.add(good(admin.workspace_id, 99))
    await recorder.flush()
    assert (await service.usage.records(admin, limit=1))[0].at == NOW + 99
    hours = await service.usage.rollups(admin, "key", "key_1", "hour")
    assert sum(r.count for _, r in hours) == 47


@pytest.mark.parametrize("poison", POISON_PARAMS)
async def test_hostile_text_in_every_recorded_field_is_cleaned_and_written(
    service: Keystead, poison: Poison
) -> None:
    admin = await service.workspaces.local_operator()
    api = await service.apis.create(admin, name="poison")
    created = await service.keys.create(admin, api_id=api.id, owner_id="alice")
    key = created.plaintext
    recorder = service.usage.recorder
    for field in ("ip", "user_agent", "method", "path", "referrer"):
        hostile = VerifyContext(**{**_context_fields(), field: poison.text})
        assert (await service.verify(key, hostile)).valid
        verdict = await service.verify(key, hostile, record=False)
        await service.usage.complete(verdict, hostile, status=200, response_ms=1.5)
    await recorder.add(  # a whole record, as a gateway or a report hands it over
        UsageRecord(
            NOW, admin.workspace_id, api.id, created.key.id, "alice", "VALID",
            ip=poison.text, user_agent=poison.text, method=poison.text, path=poison.text,
        )
    )  # fmt: skip
    await service.verify(key, CONTEXT)  # and a normal one behind them
    await service.flush()

    assert recorder.pending == 0
    assert (recorder.refused, recorder.failed_batches) == (0, 0)
    stored = await service.usage.records(admin, key_id=created.key.id, limit=100)
    assert len(stored) == 12
    for record in stored:
        for field, width in COLUMNS.items():
            value = getattr(record, field)
            assert value is None or (cleaned(value) and len(value) <= width), field
    if poison.storable and not poison.long:  # kept exactly as sent
        assert poison.text in {r.path for r in stored}
    assert stored[0].path == "/v1/things" and stored[0].user_agent == "curl/8"
    day = await service.usage.rollups(admin, "key", created.key.id, "day")
    assert [r.count for _, r in day] == [12]


def _context_fields() -> dict[str, str]:
    return {"ip": "8.8.8.8", "user_agent": "curl/8", "method": "GET", "path": "/p"}


class DownStore:
    """A usage store that cannot be reached until told otherwise."""

    def __init__(self) -> None:
        self.down = True
        self.written: list[UsageRecord] = []

    async def write_usage(
        self, records: Sequence[UsageRecord], rollups: Mapping[RollupKey, Rollup]
    ) -> None:
        if self.down:
            raise StoreUnavailable("the store failed: OperationalError")
        self.written.extend(records)


async def test_only_an_unreachable_store_is_retried() -> None:
    store = DownStore()
    recorder = UsageRecorder(store, flush_interval_s=3600)  # type: ignore[arg-type]
    for i in range(5):
        await recorder.add(good("ws_1", i))
    await recorder.flush()
    assert (recorder.pending, recorder.failed_batches, recorder.refused) == (5, 1, 0)
    store.down = False
    await recorder.close()
    assert len(store.written) == 5


async def test_an_outage_during_a_split_keeps_what_was_not_written() -> None:
    class Flaky(DownStore):
        """Refuses the poisoned record, and goes down after the first write."""

        async def write_usage(
            self, records: Sequence[UsageRecord], rollups: Mapping[RollupKey, Rollup]
        ) -> None:
            if any(r.bytes_in for r in records):
                raise ValueError("out of range")
            if self.down and self.written:
                raise StoreUnavailable("the store failed: OperationalError")
            self.written.extend(records)

    store = Flaky()
    recorder = UsageRecorder(store, flush_interval_s=3600)  # type: ignore[arg-type]
    for i in range(8):
        await recorder.add((bad if i == 5 else good)("ws_1", i))
    await recorder.flush()  # [0..3] written, [4..7] refused: [4, 5] refused, [4] down
    assert [r.at - NOW for r in store.written] == [0, 1, 2, 3]
    assert (recorder.pending, recorder.failed_batches) == (4, 1)
    store.down = False
    await recorder.close()
    assert [r.at - NOW for r in store.written] == [0, 1, 2, 3, 4, 6, 7]
    assert recorder.refused == 1


async def test_a_batch_too_large_for_the_writer_process_is_split(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    from keystead.events.usage import writer

    tuned = settings.model_copy(update={"usage_writer": "process"})
    ks = await Keystead.open(settings=tuned, clock=clock)
    try:
        admin = await ks.workspaces.local_operator()
        recorder = ks.usage.recorder
        huge = "/" + "x" * 400_000
        for i in range(4):
            await recorder.add(good(admin.workspace_id, i)._replace(path=huge))
        limit = writer._MAX_FRAME
        writer._MAX_FRAME = 1_000_000  # a frame holds two of them, not four
        try:
            await recorder.flush()
        finally:
            writer._MAX_FRAME = limit
        assert (recorder.pending, recorder.refused, recorder.written) == (0, 0, 4)
        assert {len(r.path or "") for r in await ks.usage.records(admin)} == {1024}
    finally:
        await ks.close()


@pytest.mark.parametrize("poison", POISON_PARAMS)
async def test_library_reports_refuse_what_no_store_holds(
    keystead: Keystead, admin: Principal, poison: Poison
) -> None:
    at = keystead.clock.now()
    for field in ("ip", "user_agent", "method", "path", "tags"):
        value: object = [poison.text] if field == "tags" else poison.text
        report = {"key_id": None, "code": "NOT_FOUND", "at": at, field: value}
        if poison.storable and not poison.long and not (field == "tags" and len(poison.text) > 100):
            assert (await keystead.usage.report(admin, [report])).recorded == 1
            continue
        with pytest.raises(ValidationError) as refused:
            await keystead.usage.report(admin, [report])
        assert refused.value.field == f"records[0].{field}"
        assert poison.text not in refused.value.detail
    await keystead.flush()
    assert keystead.usage.recorder.pending == 0


async def test_under_the_block_policy_a_poison_record_neither_stalls_nor_loses_records(
    keystead: Keystead, admin: Principal
) -> None:
    recorder = UsageRecorder(keystead.store, capacity=5, policy="block", flush_interval_s=0.01)
    recorder.start()
    try:
        await recorder.add(bad(admin.workspace_id, 0))
        for i in range(1, 40):  # eight buffers' worth: waits for room each time
            await asyncio.wait_for(recorder.add(good(admin.workspace_id, i)), 10)
    finally:
        await recorder.close()
    assert (recorder.written, recorder.dropped) == (39, 0)
    assert recorder.refused == 1


async def test_completion_times_no_store_holds_are_refused(
    keystead: Keystead, admin: Principal
) -> None:
    verdict = await keystead.verify("not-a-key", principal=admin, record=False)
    for started_at in (math.nan, math.inf, -1.0, 1e20, "now"):
        with pytest.raises(ValidationError) as refused:
            await keystead.usage.complete(verdict, CONTEXT, status=200, started_at=started_at)  # type: ignore[arg-type]
        assert refused.value.field == "started_at"
    await keystead.usage.complete(verdict, CONTEXT, status=200, principal=admin, started_at=NOW)
    await keystead.flush()
    assert keystead.usage.recorder.pending == 0
    assert [r.at for r in await keystead.usage.records(admin)] == [NOW]
