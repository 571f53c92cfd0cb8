"""How the recorder cuts batches: whole batches as soon as they wait, the rest
on each tick of the flush interval (never a batch per wake-up), so a record is
written within about one interval at any load and a poison record still never
blocks the others. And the writer process's shortcuts give what the inline
writer builds."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from keystead.core.authz import Principal
from keystead.core.geo import default_resolver
from keystead.core.usage import Rollup, RollupKey, UsageRecord
from keystead.events.usage import UsageRecorder
from keystead.events.usage._rollup import FIELDS, records_of, to_record, unflatten
from keystead.service import Keystead
from keystead.store.sql.usage_queries import sqlite_stamp

NOW = 1_750_000_000.0


class Batches:
    """A store that keeps the size of each batch written."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    async def write_usage(
        self, records: Sequence[UsageRecord], rollups: Mapping[RollupKey, Rollup]
    ) -> None:
        self.sizes.append(len(records))


def record(i: int, workspace_id: str = "ws_1") -> UsageRecord:
    return UsageRecord(NOW + i, workspace_id, "api_1", "key_1", "alice", "VALID", ip="8.8.8.8")


async def until(predicate: Any) -> None:
    """Let the flusher run until ``predicate()`` holds (a hang fails the test)."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.001)

    await asyncio.wait_for(poll(), 30)


async def test_woken_by_a_whole_batch_the_flusher_leaves_the_rest_for_the_tick() -> None:
    store = Batches()
    recorder = UsageRecorder(store, batch_size=10, flush_interval_s=3600)  # type: ignore[arg-type]
    recorder.start()
    for i in range(25):
        await recorder.add(record(i))
    await until(lambda: recorder.written == 20)
    for _ in range(20):  # the flusher has nothing more to do until the tick
        await asyncio.sleep(0)
    assert (store.sizes, recorder.pending) == ([10, 10], 5)
    await recorder.close()  # a clean close writes the rest
    assert (store.sizes, recorder.pending, recorder.written) == ([10, 10, 5], 0, 25)


async def test_a_lone_record_is_written_on_the_next_tick_without_a_flush() -> None:
    store = Batches()
    recorder = UsageRecorder(store, flush_interval_s=0.05)  # type: ignore[arg-type]
    recorder.start()
    await recorder.add(record(0))
    await until(lambda: recorder.written == 1)
    await recorder.add(record(1))
    await recorder.add(record(2))
    await until(lambda: recorder.written == 3)
    assert store.sizes == [1, 2]  # one batch per tick, not one per record
    await recorder.close()


async def test_a_tick_writes_what_waited_not_what_arrives_while_it_writes() -> None:
    class Busy(Batches):
        """Three more records arrive during each write, as under steady load."""

        recorder: UsageRecorder
        times: list[float] = []  # noqa: RUF012 - one instance

        async def write_usage(
            self, records: Sequence[UsageRecord], rollups: Mapping[RollupKey, Rollup]
        ) -> None:
            await super().write_usage(records, rollups)
            self.times.append(asyncio.get_running_loop().time())
            if len(self.sizes) < 4:
                for i in range(3):
                    self.recorder.append_now((record(i), None, None, None))

    store = Busy()
    recorder = UsageRecorder(store, flush_interval_s=0.05)  # type: ignore[arg-type]
    store.recorder = recorder
    for i in range(7):
        await recorder.add(record(i))
    recorder.start()
    await until(lambda: recorder.written == 16)
    # each tick took what waited when it began: the arrivals waited for the next
    # one (a flusher that wrote until the buffer was empty wrote them at once)
    assert store.sizes == [7, 3, 3, 3]
    gaps = [later - earlier for earlier, later in zip(store.times, store.times[1:], strict=False)]
    assert min(gaps) >= 0.04
    await recorder.close()


async def test_a_poison_record_written_on_a_tick_does_not_block_the_others(
    keystead: Keystead, admin: Principal
) -> None:
    recorder = UsageRecorder(keystead.store, flush_interval_s=0.05)
    recorder.start()
    await recorder.add(record(0, admin.workspace_id))
    await recorder.add(record(1, admin.workspace_id)._replace(bytes_in=2**70))  # no store holds it
    await recorder.add(record(2, admin.workspace_id))
    await until(lambda: recorder.written + recorder.refused == 3)
    assert (recorder.written, recorder.refused, recorder.pending) == (2, 1, 0)
    kept = await keystead.store.list_usage(admin.workspace_id, limit=10)
    assert sorted(r.at for r in kept) == [NOW, NOW + 2]
    await recorder.close()


def test_records_of_gives_what_to_record_gives() -> None:
    resolver = default_resolver()
    rows = [
        record(0),
        record(1)._replace(ip="10.1.2.3", user_agent="curl/8", tags=("a",)),
        record(2)._replace(ip=None),
        record(3)._replace(ip="1.1.1.1", country="AU"),  # a country already given
        record(4)._replace(ip="8.8.8.8\x00", path="/a\ud800"),  # cleaned, then looked up
        record(5)._replace(ip="9" * 100),  # cut to the column's width
        record(6)._replace(user_agent="\x00" * 3, owner_id=None),
    ]
    fields = [value for row in rows for value in row]
    assert len(fields) == FIELDS * len(rows)
    expected = [to_record(r, resolver) for r in unflatten(fields)]
    assert records_of(list(fields), resolver) == expected
    assert records_of(list(fields), None) == [to_record(r, None) for r in unflatten(fields)]
    assert expected[0].country == "US" and expected[4].ip == "8.8.8.8\ufffd"


def test_sqlite_stamp_is_the_text_sqlalchemy_stores() -> None:
    generator = random.Random(19)
    moments = [0.0, 1.9999995, 1.0000005, 1_750_000_000.5, 253_402_300_799.0]
    moments += [generator.uniform(0, 4e9) for _ in range(20_000)]
    moments += [generator.randrange(2 * 10**9) + generator.randrange(10**6) / 1e6 for _ in range(9)]
    for at in moments:
        expected = datetime.fromtimestamp(at, UTC).isoformat(" ", "microseconds")[:26]
        assert sqlite_stamp(at) == expected, at
