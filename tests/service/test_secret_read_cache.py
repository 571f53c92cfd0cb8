"""The cache of sealed latest versions (``service/secret_cache.py``): a version's
state is judged at each read, this node's changes and another node's (through the
change feed) drop the entry, and it holds no plaintext; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.core.secrets import SecretVersionGone
from keystead.errors import NotFound
from keystead.service import Keystead

ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


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


@pytest.fixture
async def two_nodes(settings: Settings) -> AsyncIterator[tuple[Keystead, Keystead]]:
    tuned = settings.model_copy(update={"invalidation_url": ""})
    a = await Keystead.open(settings=tuned, create_master_key=True)
    b = await Keystead.open(settings=tuned)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


@ON_POSTGRES
async def test_another_nodes_change_drops_the_entry_when_its_news_arrives(
    two_nodes: tuple[Keystead, Keystead],
) -> None:
    a, b = two_nodes
    root = await a.workspaces.local_operator()
    await a.secrets.put(root, "secret", "app", {"token": "tok-1"})
    assert (await b.secrets.get(root, "secret", "app")).data == {"token": "tok-1"}
    subscription = b.changes.subscribe(root.workspace_id, None)
    try:
        await a.secrets.put(root, "secret", "app", {"token": "tok-2"})
        assert await asyncio.wait_for(subscription.next(2.0), 3.0) is not None
        assert (await b.secrets.get(root, "secret", "app")).data == {"token": "tok-2"}

        await a.secrets.destroy(root, "secret", "app", [2])
        assert await asyncio.wait_for(subscription.next(2.0), 3.0) is not None
        with pytest.raises(SecretVersionGone):
            await b.secrets.get(root, "secret", "app")
    finally:
        subscription.close()
