"""Stored secrets on the change feed (``GET /v1/events/invalidations``): every
change of a secret's versions is announced as ``{"kind": "secret", "id":
"mount/path"}`` to the workspace's subscribers that may read the path, at once on
this node and within a second on another one (PostgreSQL NOTIFY), on SQLite and
PostgreSQL. ``keystead run --watch`` listens to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.permissions import GrantSet
from keystead.core.secrets import SecretVersionGone
from keystead.service import Keystead
from keystead.service.changes import Change, Subscription

DEADLINE_S = 1.0
ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
async def root(vault: Keystead) -> Principal:
    return await vault.workspaces.local_operator()


async def next_change(subscription: Subscription) -> Change:
    change = await subscription.next(DEADLINE_S)
    assert change is not None, "no change announced within a second"
    return change


async def test_each_change_of_a_secret_is_announced_with_its_address(
    vault: Keystead, root: Principal
) -> None:
    subscription = vault.changes.subscribe(root.workspace_id, None)
    secrets, ws = vault.secrets, root.workspace_id
    try:
        steps: list[Callable[[], Awaitable[object]]] = [
            lambda: secrets.put(root, "secret", "payments", {"stripe_key": "sk_live_1"}),
            lambda: secrets.patch(root, "secret", "payments", {"stripe_key": "sk_live_2"}),
            lambda: secrets.delete(root, "secret", "payments"),
            lambda: secrets.undelete(root, "secret", "payments", [2]),
            lambda: secrets.destroy(root, "secret", "payments", [1]),
            lambda: secrets.delete_metadata(root, "secret", "payments"),
        ]
        for step in steps:
            await step()
            change = await next_change(subscription)
            assert (change.kind, change.id, change.workspace_id) == (
                "secret",
                "secret/payments",
                ws,
            )
        assert await subscription.next(0.05) is None  # nothing else was announced
    finally:
        subscription.close()


async def test_a_read_announces_nothing(vault: Keystead, root: Principal) -> None:
    await vault.secrets.put(root, "secret", "payments", {"stripe_key": "sk_live_1"})
    subscription = vault.changes.subscribe(root.workspace_id, None)
    try:
        await vault.secrets.get(root, "secret", "payments")
        await vault.secrets.read_metadata(root, "secret", "payments")
        assert await subscription.next(0.05) is None
    finally:
        subscription.close()


async def test_only_readers_of_the_path_see_the_change(vault: Keystead, root: Principal) -> None:
    subscription = vault.changes.subscribe(root.workspace_id, None)
    try:
        await vault.secrets.put(root, "secret", "payments/stripe", {"key": "sk_live_1"})
        change = await next_change(subscription)
    finally:
        subscription.close()

    def token(*grants: str) -> Principal:
        return Principal(root.workspace_id, "root_key:rk_test", GrantSet(grants))

    expected = {"kind": "secret", "id": "secret/payments/stripe"}
    assert await vault.changes.visible(root, change) == expected
    assert await vault.changes.visible(token("secrets.read:secret/payments/*"), change) == expected
    assert await vault.changes.visible(token("secrets.read:secret/billing/*"), change) is None
    assert await vault.changes.visible(token("keys.verify"), change) is None
    other = Principal("ws_other", "root_key:rk_other", GrantSet(["*"]))
    assert await vault.changes.visible(other, change) is None


async def test_another_workspace_hears_nothing(vault: Keystead, root: Principal) -> None:
    created = await vault.workspaces.create("elsewhere")
    subscription = vault.changes.subscribe(created.workspace.id, None)
    try:
        await vault.secrets.put(root, "secret", "payments", {"stripe_key": "sk_live_1"})
        assert await subscription.next(0.1) is None
    finally:
        subscription.close()


@pytest.fixture
async def two_nodes(settings: Settings) -> AsyncIterator[tuple[Keystead, Keystead]]:
    tuned = settings.model_copy(update={"invalidation_url": ""})
    a = await Keystead.open(settings=tuned, create_master_key=True)
    b = await Keystead.open(settings=tuned)
    try:
        assert a.invalidation is not None and b.invalidation is not None
        yield a, b
    finally:
        await a.close()
        await b.close()


@ON_POSTGRES
async def test_a_write_on_one_node_reaches_the_other_nodes_feed(
    two_nodes: tuple[Keystead, Keystead],
) -> None:
    a, b = two_nodes
    root = await a.workspaces.local_operator()
    subscription = b.changes.subscribe(root.workspace_id, None)
    try:
        await a.secrets.put(root, "secret", "payments", {"stripe_key": "sk_live_1"})
        change = await asyncio.wait_for(next_change(subscription), DEADLINE_S * 2)
        assert (change.kind, change.id) == ("secret", "secret/payments")
        assert await b.changes.visible(root, change) == {
            "kind": "secret",
            "id": "secret/payments",
        }
    finally:
        subscription.close()


@ON_POSTGRES
async def test_another_nodes_change_drops_the_read_cache_entry_when_its_news_arrives(
    two_nodes: tuple[Keystead, Keystead],
) -> None:
    a, b = two_nodes
    root = await a.workspaces.local_operator()
    await a.secrets.put(root, "secret", "app", {"token": "tok-1"})
    assert (await b.secrets.get(root, "secret", "app")).data == {"token": "tok-1"}
    subscription = b.changes.subscribe(root.workspace_id, None)
    try:
        await a.secrets.put(root, "secret", "app", {"token": "tok-2"})
        await asyncio.wait_for(next_change(subscription), DEADLINE_S * 2)
        assert (await b.secrets.get(root, "secret", "app")).data == {"token": "tok-2"}

        await a.secrets.destroy(root, "secret", "app", [2])
        await asyncio.wait_for(next_change(subscription), DEADLINE_S * 2)
        with pytest.raises(SecretVersionGone):
            await b.secrets.get(root, "secret", "app")
    finally:
        subscription.close()
