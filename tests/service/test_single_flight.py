"""Concurrent misses of one key read it from the store once; an invalidation
starts a fresh read; a cancelled caller leaves the read to the others."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from keystead.core.authz import Principal
from keystead.core.models import Code, Key
from keystead.service import Keystead
from keystead.service.single_flight import SingleFlight


def _held_reads(
    keystead: Keystead, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[bytes], asyncio.Event]:
    """Count the store's key reads; each waits for the returned event."""
    reads: list[bytes] = []
    release = asyncio.Event()
    real = keystead.store.find_key

    async def held(key_hash: bytes) -> Key | None:
        reads.append(key_hash)
        await release.wait()
        return await real(key_hash)

    monkeypatch.setattr(keystead.store, "find_key", held)
    return reads, release


async def _created(keystead: Keystead, admin: Principal) -> tuple[str, str]:
    api = await keystead.apis.create(admin, name="api")
    created = await keystead.keys.create(admin, api_id=api.id)
    return created.plaintext, created.key.id


async def test_concurrent_misses_of_one_key_read_it_once(
    keystead: Keystead, admin: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, _ = await _created(keystead, admin)
    reads, release = _held_reads(keystead, monkeypatch)
    verifying = [asyncio.create_task(keystead.verify(key)) for _ in range(40)]
    await asyncio.sleep(0.05)
    assert len(reads) == 1
    release.set()
    verdicts = await asyncio.gather(*verifying)
    assert all(v.valid for v in verdicts)
    assert len(reads) == 1
    assert (await keystead.verify(key)).valid and len(reads) == 1  # cached now


async def test_a_miss_after_an_invalidation_reads_afresh(
    keystead: Keystead, admin: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, key_id = await _created(keystead, admin)
    reads, release = _held_reads(keystead, monkeypatch)
    before = asyncio.create_task(keystead.verify(key))
    await asyncio.sleep(0.02)
    await keystead.keys.revoke(admin, key_id)  # a new cache generation
    after = asyncio.create_task(keystead.verify(key))
    await asyncio.sleep(0.02)
    assert len(reads) == 2  # not joined to the read that began before the revoke
    release.set()
    assert (await after).code is Code.REVOKED
    await before  # began before the revoke: it may answer either way
    assert (await keystead.verify(key)).code is Code.REVOKED


async def test_a_cancelled_caller_leaves_the_read_to_the_others() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    release = asyncio.Event()
    started: list[int] = []

    def load(value: int) -> Callable[[], Coroutine[Any, Any, int]]:
        async def read() -> int:
            started.append(value)
            await release.wait()
            return value

        return read

    first = asyncio.create_task(flight.run("k", 0, load(1)))
    second = asyncio.create_task(flight.run("k", 0, load(2)))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    release.set()
    assert await second == 1 and started == [1]
    with pytest.raises(asyncio.CancelledError):
        await first
    assert flight.running == 0


async def test_a_failed_read_fails_every_waiter_and_is_not_kept() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    gate = asyncio.Event()

    async def broken() -> int:
        await gate.wait()
        raise OSError("store down")

    waiting = [asyncio.create_task(flight.run("k", 0, broken)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    for task in waiting:
        with pytest.raises(OSError, match="store down"):
            await task
    assert flight.running == 0

    async def fine() -> int:
        return 7

    assert await flight.run("k", 0, fine) == 7
