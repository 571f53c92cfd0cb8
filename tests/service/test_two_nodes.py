import asyncio
import logging
import random

import pytest

from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.service import Keystead


async def test_concurrent_last_used_flushes_from_two_nodes(
    settings: Settings, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    first = await Keystead.open(settings=settings, clock=clock)
    second = await Keystead.open(settings=settings, clock=clock)
    try:
        admin = await first.workspaces.local_operator()
        api = await first.apis.create(admin, name="shared")
        created = await first.keys.create_many(admin, [{"api_id": api.id}] * 300)
        plaintexts = [c.plaintext for c in created]
        caplog.set_level(logging.WARNING, logger="keystead.verify")
        for _ in range(4):
            clock.advance(1)
            for node in (first, second):
                order = plaintexts[:]
                random.shuffle(order)
                for key in order:
                    assert (await node.verify(key)).valid
            await asyncio.gather(first.flush(), second.flush())
        assert not [r for r in caplog.records if "could not record" in r.getMessage()]
        page = await first.keys.list(admin, limit=1000)
        assert all(k.last_used_at is not None for k in page.items)
        assert {k.last_used_at.timestamp() for k in page.items if k.last_used_at} == {clock.now()}
    finally:
        await first.close()
        await second.close()
