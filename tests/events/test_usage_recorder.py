"""Usage records end to end: what verify records, rollups against raw rows,
the buffer's full policies, clean shutdown, retention, two nodes."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Mapping, Sequence

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.core.usage import (
    GRANULARITIES,
    Rollup,
    RollupKey,
    UsageRecord,
    bucket_start,
    latency_bucket,
    percentile,
)
from keystead.errors import StoreUnavailable
from keystead.events.usage import UsageRecorder
from keystead.service import Keystead
from keystead.store import open_store

NOW = 1_750_000_000.0
CONTEXT = VerifyContext(ip="8.8.8.8", user_agent="curl/8", method="GET", path="/v1/things")


async def test_every_verification_is_recorded_without_the_key(
    keystead: Keystead, admin: Principal
) -> None:
    api = await keystead.apis.create(admin, name="records")
    created = await keystead.keys.create(admin, api_id=api.id, owner_id="alice")
    assert (await keystead.verify(created.plaintext, CONTEXT)).valid
    await keystead.keys.disable(admin, created.key.id)
    await keystead.verify(created.plaintext, CONTEXT)
    await keystead.verify(created.plaintext[:-3] + "abc", principal=admin)  # MALFORMED
    await keystead.flush()

    records = await keystead.usage.records(admin)
    assert [r.code for r in records] == ["MALFORMED", "DISABLED", "VALID"]
    malformed, disabled, valid = records
    assert (malformed.key_id, malformed.workspace_id) == (None, admin.workspace_id)
    assert valid.key_id == disabled.key_id == created.key.id
    assert (valid.api_id, valid.owner_id) == (api.id, "alice")
    assert (valid.ip, valid.country, valid.user_agent) == ("8.8.8.8", "US", "curl/8")
    assert (valid.method, valid.path, valid.tags) == ("GET", "/v1/things", ())
    assert valid.at == pytest.approx(keystead.clock.now())
    secret_part = created.plaintext.split("_")[-1]
    for record in records:
        assert secret_part not in repr(record)
    day = await keystead.usage.rollups(admin, "key", created.key.id, "day")
    assert [r.codes for _, r in day] == [{"VALID": 1, "DISABLED": 1}]
    assert await keystead.usage.records(admin, key_id=created.key.id, limit=1) == [disabled]


def traffic(workspace_id: str, api_id: str, key_ids: Sequence[str]) -> list[UsageRecord]:
    rng = random.Random(3)
    records = []
    for i in range(1500):
        key_id = key_ids[i % len(key_ids)]
        status = rng.choice([200, 200, 201, 404, 500])
        records.append(
            UsageRecord(
                at=NOW + rng.uniform(0, 2 * 3600),  # crosses minute and hour buckets
                workspace_id=workspace_id,
                api_id=api_id,
                key_id=key_id,
                owner_id="alice",
                code=rng.choice(["VALID", "VALID", "RATE_LIMITED"]),
                ip=f"10.0.{rng.randrange(4)}.{rng.randrange(250)}",
                user_agent=f"agent/{rng.randrange(40)}",
                status=status,
                response_ms=rng.lognormvariate(3, 1),
                bytes_in=rng.randrange(100),
                bytes_out=rng.randrange(5000),
            )
        )
    return records


def expected_rollups(records: Sequence[UsageRecord]) -> dict[RollupKey, list[UsageRecord]]:
    out: dict[RollupKey, list[UsageRecord]] = {}
    for r in records:
        assert r.workspace_id is not None and r.key_id and r.api_id and r.owner_id
        for scope, scope_id in (("key", r.key_id), ("owner", r.owner_id), ("api", r.api_id)):
            for granularity in GRANULARITIES:
                at = bucket_start(r.at, granularity)
                key = RollupKey(r.workspace_id, scope, scope_id, granularity, at)
                out.setdefault(key, []).append(r)
    return out


def check_rollup(rollup: Rollup, raw: Sequence[UsageRecord]) -> None:
    codes: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for r in raw:
        codes[r.code] = codes.get(r.code, 0) + 1
        assert r.status is not None
        statuses[f"{r.status // 100}xx"] = statuses.get(f"{r.status // 100}xx", 0) + 1
    assert (rollup.count, rollup.codes, rollup.statuses) == (len(raw), codes, statuses)
    assert rollup.bytes_in == sum(r.bytes_in or 0 for r in raw)
    assert rollup.bytes_out == sum(r.bytes_out or 0 for r in raw)
    latencies = sorted(r.response_ms or 0.0 for r in raw)
    histogram: dict[int, int] = {}
    for ms in latencies:
        histogram[latency_bucket(ms)] = histogram.get(latency_bucket(ms), 0) + 1
    assert rollup.latency == histogram
    for q in (0.5, 0.9, 0.99):
        exact = latencies[max(1, math.ceil(q * len(latencies))) - 1]
        estimate = percentile(rollup.latency, q)
        assert estimate is not None and exact / 1.26 <= estimate <= exact * 1.26
    for distinct, sketch_count in (
        (len({r.ip for r in raw}), rollup.distinct_ips),
        (len({r.user_agent for r in raw}), rollup.distinct_user_agents),
    ):
        assert abs(sketch_count - distinct) <= max(2, 0.13 * distinct)


async def test_rollups_agree_with_the_raw_records(keystead: Keystead, admin: Principal) -> None:
    api = await keystead.apis.create(admin, name="rollups")
    keys = [(await keystead.keys.create(admin, api_id=api.id, owner_id="alice")).key.id]
    keys.append((await keystead.keys.create(admin, api_id=api.id, owner_id="alice")).key.id)
    records = traffic(admin.workspace_id, api.id, keys)
    recorder = keystead.usage.recorder
    for half in (records[:700], records[700:]):  # the second flush merges into stored rows
        for record in half:
            await recorder.add(record)
        await recorder.flush()
    expected = expected_rollups(records)
    seen = 0
    for scope, scope_id in [("key", k) for k in keys] + [("owner", "alice"), ("api", api.id)]:
        for granularity in GRANULARITIES:
            stored = await keystead.usage.rollups(admin, scope, scope_id, granularity)
            wanted = {
                k
                for k in expected
                if (k.scope, k.scope_id, k.granularity) == (scope, scope_id, granularity)
            }
            assert {k for k, _ in stored} == wanted
            for key, rollup in stored:
                check_rollup(rollup, expected[key])
                seen += 1
    assert seen == len(expected)
    assert len(await keystead.usage.records(admin, limit=10_000)) == len(records)


class GatedStore:
    """A usage store whose writes wait for a gate: shows what producers do meanwhile."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.written: list[UsageRecord] = []

    async def write_usage(
        self, records: Sequence[UsageRecord], rollups: Mapping[RollupKey, Rollup]
    ) -> None:
        await self.gate.wait()
        self.written.extend(records)


def record(i: int) -> UsageRecord:
    return UsageRecord(NOW + i, "ws_1", "api_1", "key_1", None, "VALID")


async def test_a_full_buffer_drops_and_counts_with_the_drop_policy() -> None:
    store = GatedStore()
    recorder = UsageRecorder(store, capacity=10, policy="drop", flush_interval_s=3600)  # type: ignore[arg-type]
    for i in range(15):
        await recorder.add(record(i))
    assert (recorder.pending, recorder.dropped) == (10, 5)
    store.gate.set()
    await recorder.close()
    assert [r.at for r in store.written] == [NOW + i for i in range(10)]


async def test_a_full_buffer_makes_producers_wait_with_the_block_policy() -> None:
    store = GatedStore()
    recorder = UsageRecorder(store, capacity=10, policy="block", flush_interval_s=3600)  # type: ignore[arg-type]
    for i in range(10):
        await recorder.add(record(i))
    producer = asyncio.create_task(recorder.add(record(10)))
    await asyncio.sleep(0)
    assert not producer.done()  # waiting for space; nothing dropped
    assert recorder.pending == 10
    await asyncio.wait_for(producer, 10)  # the flusher took a batch: room again
    store.gate.set()
    await recorder.close()
    assert (len(store.written), recorder.dropped) == (11, 0)


async def test_a_failed_write_keeps_the_batch_for_the_next_flush() -> None:
    class Flaky(GatedStore):
        fail = True

        async def write_usage(
            self, records: Sequence[UsageRecord], rollups: Mapping[RollupKey, Rollup]
        ) -> None:
            if self.fail:
                raise StoreUnavailable("the store failed: OperationalError")
            self.written.extend(records)

    store = Flaky()
    recorder = UsageRecorder(store, flush_interval_s=3600)  # type: ignore[arg-type]
    for i in range(3):
        await recorder.add(record(i))
    await recorder.flush()
    assert (recorder.pending, recorder.failed_batches, store.written) == (3, 1, [])
    store.fail = False
    await recorder.close()
    assert len(store.written) == 3


async def test_a_clean_shutdown_writes_everything(settings: Settings, clock: ManualClock) -> None:
    lazy = settings.model_copy(
        update={"usage_flush_interval_s": 3600.0, "usage_batch_size": 100_000}
    )
    ks = await Keystead.open(settings=lazy, clock=clock)
    admin = await ks.workspaces.local_operator()
    api = await ks.apis.create(admin, name="shutdown")
    created = await ks.keys.create(admin, api_id=api.id)
    for _ in range(250):
        await ks.verify(created.plaintext, CONTEXT)
    assert ks.usage.recorder.pending == 250
    await ks.close()
    store = open_store(settings.database_url)
    try:
        stored = await store.list_usage(admin.workspace_id, limit=1000)
    finally:
        await store.close()
    assert len(stored) == 250


async def test_retention_purges_old_records_and_rollups(
    keystead: Keystead, admin: Principal
) -> None:
    day = 86_400.0
    recorder = keystead.usage.recorder
    for at in (NOW - 500 * day, NOW - 40 * day, NOW - 1):
        await recorder.add(UsageRecord(at, admin.workspace_id, "api_x", "key_x", None, "VALID"))
    for at in (NOW - 40 * day, NOW - 1):  # no workspace: a malformed key, nobody asking
        await recorder.add(UsageRecord(at, None, None, None, None, "MALFORMED"))
    await recorder.flush()
    raw, rolled = await keystead.usage.purge(NOW)
    assert (raw, rolled) == (3, 6)  # raw rows keep 30 days; key and API rollups 400
    assert await keystead.usage.purge(NOW) == (0, 0)
    assert [r.at for r in await keystead.usage.records(admin)] == [NOW - 1]
    kept = await keystead.usage.rollups(admin, "key", "key_x", "day")
    assert [k.bucket for k, _ in kept] == [
        bucket_start(NOW - 40 * day, "day"),
        bucket_start(NOW - 1, "day"),
    ]


async def test_two_nodes_add_up(settings: Settings, clock: ManualClock) -> None:
    nodes = [await Keystead.open(settings=settings, clock=clock) for _ in range(2)]
    try:
        admin = await nodes[0].workspaces.local_operator()
        for round_ in range(5):
            for n, node in enumerate(nodes):
                for i in range(40):
                    at = NOW + i % 3 * 60  # three minutes: the same rows on both nodes
                    owner = f"owner-{(i + n) % 2}"
                    await node.usage.recorder.add(
                        UsageRecord(
                            at,
                            admin.workspace_id,
                            "api_1",
                            f"key_{i % 4}",
                            owner,
                            "VALID" if round_ % 2 else "EXPIRED",
                            ip=f"10.0.0.{n}",
                        )
                    )
            await asyncio.gather(*(node.usage.flush() for node in nodes))
        hours = await nodes[0].usage.rollups(admin, "api", "api_1", "hour")
        assert [(r.count, r.codes, r.distinct_ips) for _, r in hours] == [
            (400, {"VALID": 160, "EXPIRED": 240}, 2)
        ]
        minutes = await nodes[1].usage.rollups(admin, "key", "key_0", "minute")
        assert sum(r.count for _, r in minutes) == 100
    finally:
        for node in nodes:
            await node.close()
