"""The cache of sealed latest versions (``service/secret_cache.py``): a version's
state is judged at each read, this node's changes drop the entry (another node's:
tests/service/test_secret_changes.py), and it holds no plaintext; on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.secrets import SecretVersionGone
from keystead.errors import NotFound
from keystead.service import Keystead


@pytest.fixture
async def root(vault: Keystead) -> Principal:
    return await vault.workspaces.local_operator()


async def test_a_remembered_version_still_expires_at_its_deletion_time(
    vault: Keystead, root: Principal, clock: ManualClock
) -> None:
    await vault.secrets.write_metadata(root, "secret", "app", delete_version_after=60)
    await vault.secrets.put(root, "secret", "app", {"token": "tok-1"})
    assert (await vault.secrets.get(root, "secret", "app")).data == {"token": "tok-1"}

    clock.advance(61)
    with pytest.raises(SecretVersionGone):
        await vault.secrets.get(root, "secret", "app")


async def test_this_nodes_changes_are_read_at_once(vault: Keystead, root: Principal) -> None:
    await vault.secrets.put(root, "secret", "app", {"token": "tok-1"})
    await vault.secrets.get(root, "secret", "app")
    await vault.secrets.put(root, "secret", "app", {"token": "tok-2"})
    assert (await vault.secrets.get(root, "secret", "app")).data == {"token": "tok-2"}

    await vault.secrets.write_metadata(root, "secret", "app", custom_metadata={"team": "pay"})
    read = await vault.secrets.get(root, "secret", "app")
    assert read.metadata.custom_metadata == {"team": "pay"}

    await vault.secrets.delete(root, "secret", "app")
    with pytest.raises(SecretVersionGone):
        await vault.secrets.get(root, "secret", "app")
    await vault.secrets.undelete(root, "secret", "app", [2])
    await vault.secrets.get(root, "secret", "app")
    await vault.secrets.destroy(root, "secret", "app", [2])
    with pytest.raises(SecretVersionGone):
        await vault.secrets.get(root, "secret", "app")
    await vault.secrets.put(root, "secret", "app", {"token": "tok-3"})
    await vault.secrets.get(root, "secret", "app")
    await vault.secrets.delete_metadata(root, "secret", "app")
    with pytest.raises(NotFound):
        await vault.secrets.get(root, "secret", "app")


async def test_the_cache_holds_sealed_bytes_only(vault: Keystead, root: Principal) -> None:
    value = "sk_live_" + "q" * 24
    await vault.secrets.put(root, "secret", "app", {"stripe": value})
    await vault.secrets.get(root, "secret", "app")

    cached = vault._ctx.secrets.get((root.workspace_id, "secret", "app"))
    assert cached is not None and cached[1].sealed is not None
    assert value.encode() not in cached[1].sealed
    assert value not in repr(cached)


async def test_concurrent_misses_of_one_secret_share_one_store_read(
    vault: Keystead, root: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    await vault.secrets.put(root, "secret", "hot", {"token": "tok-1"})
    vault._ctx.secrets.clear()  # as when the entry expires under load
    real = vault.store.read_secret_version
    calls: list[tuple[object, ...]] = []

    async def counted(*args: Any) -> Any:
        calls.append(args)
        return await real(*args)

    monkeypatch.setattr(vault.store, "read_secret_version", counted)
    reads = await asyncio.gather(*(vault.secrets.get(root, "secret", "hot") for _ in range(20)))

    assert [r.data for r in reads] == [{"token": "tok-1"}] * 20
    assert len(calls) == 1
