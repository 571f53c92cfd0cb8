"""Cross-node invalidation: a change on node B reaches node A's cache within 1 s,
over PostgreSQL LISTEN/NOTIFY and over Redis pub/sub (real servers), with the nodes
on one PostgreSQL schema or one MariaDB database."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from unittest.mock import ANY

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.models import Code
from keystead.core.verify import Verdict
from keystead.errors import ConfigurationError, Unauthorized
from keystead.events.invalidation import InvalidationBus, resolve_url
from keystead.service import Keystead

ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
"""Run on a fresh PostgreSQL schema only (the conftest ``database_url``)."""
SHARED_STORES = pytest.mark.parametrize(
    "database_url",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ],
    indirect=True,
)
"""Run on the stores several nodes share: PostgreSQL and MariaDB (whose nodes have
no LISTEN/NOTIFY: they share Redis pub/sub)."""


REDIS_ENV = "KEYSTEAD_TEST_REDIS_URL"
DEADLINE_S = 1.0
CHANNELS = [
    pytest.param("postgres", id="pg-notify"),
    pytest.param(
        "redis",
        id="redis-pubsub",
        marks=pytest.mark.skipif(
            not os.environ.get(REDIS_ENV), reason=f"{REDIS_ENV} is not set: needs Redis"
        ),
    ),
]


@dataclass
class Nodes:
    a: Keystead
    b: Keystead
    admin: Principal
    api_id: str


@pytest.fixture(params=CHANNELS)
async def nodes(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Nodes]:
    """Two in-process nodes on one PostgreSQL schema or MariaDB database, no clock
    tricks (real TTLs of 60 s, so only the channel can make a change visible within 1 s)."""
    if request.param == "postgres" and settings.database_url.startswith("mysql"):
        pytest.skip("MariaDB has no LISTEN/NOTIFY: its nodes share Redis pub/sub")
    channel = "" if request.param == "postgres" else os.environ[REDIS_ENV]
    tuned = settings.model_copy(update={"invalidation_url": channel})
    a = await Keystead.open(settings=tuned)
    b = await Keystead.open(settings=tuned)
    try:
        assert a.invalidation is not None and b.invalidation is not None
        admin = await b.workspaces.local_operator()
        api = await b.apis.create(admin, name="shared")
        yield Nodes(a, b, admin, api.id)
    finally:
        await a.close()
        await b.close()


async def until(check: Callable[[], Awaitable[bool]], started: float) -> float:
    """Poll every 20 ms until ``check()``; the elapsed time, at most 1 s."""
    while not await check():
        elapsed = time.monotonic() - started
        assert elapsed < DEADLINE_S, f"not propagated after {elapsed:.3f} s"
        await asyncio.sleep(0.02)
    elapsed = time.monotonic() - started
    assert elapsed < DEADLINE_S
    return elapsed


async def cached_key(nodes: Nodes, **fields: object) -> tuple[str, str]:
    """A key created on B, verified (and so cached) on A."""
    created = await nodes.b.keys.create(nodes.admin, api_id=nodes.api_id, **fields)
    assert (await nodes.a.verify(created.plaintext)).valid
    return created.plaintext, created.key.id


async def verdict_is(node: Keystead, key: str, code: Code) -> bool:
    return (await node.verify(key)).code is code


@SHARED_STORES
async def test_revoke_reaches_the_other_node(nodes: Nodes) -> None:
    key, key_id = await cached_key(nodes)
    await nodes.b.keys.revoke(nodes.admin, key_id)
    await until(lambda: verdict_is(nodes.a, key, Code.REVOKED), time.monotonic())


@SHARED_STORES
async def test_disable_reaches_the_other_node(nodes: Nodes) -> None:
    key, key_id = await cached_key(nodes)
    await nodes.b.keys.disable(nodes.admin, key_id)
    await until(lambda: verdict_is(nodes.a, key, Code.DISABLED), time.monotonic())


@SHARED_STORES
async def test_delete_reaches_the_other_node(nodes: Nodes) -> None:
    key, key_id = await cached_key(nodes)
    await nodes.b.keys.delete(nodes.admin, key_id)
    await until(lambda: verdict_is(nodes.a, key, Code.NOT_FOUND), time.monotonic())


@SHARED_STORES
async def test_permission_update_reaches_the_other_node(nodes: Nodes) -> None:
    key, key_id = await cached_key(nodes, permissions=["a"])
    await nodes.b.keys.update(nodes.admin, key_id, {"permissions": ["b"]})

    async def updated() -> bool:
        return (await nodes.a.verify(key)).permissions == ("b",)

    await until(updated, time.monotonic())


@SHARED_STORES
async def test_role_change_reaches_the_other_node(nodes: Nodes) -> None:
    await nodes.b.apis.put_role(nodes.admin, nodes.api_id, "reader", ["documents.read"])
    key, _ = await cached_key(nodes, roles=["reader"])
    await nodes.b.apis.put_role(nodes.admin, nodes.api_id, "reader", ["documents.*"])

    async def updated() -> bool:
        return (await nodes.a.verify(key)).permissions == ("documents.*",)

    await until(updated, time.monotonic())


def _limit_names(verdict: Verdict) -> set[str]:
    return {state.name for state in verdict.limits}


@SHARED_STORES
async def test_plan_change_reaches_the_other_node(nodes: Nodes) -> None:
    plan = await nodes.b.plans.create(
        nodes.admin, name="free", ratelimits=[{"name": "rpm", "limit": 1000, "duration_s": 60}]
    )
    key, _ = await cached_key(nodes, plan_id=plan.id)
    burst = [{"name": "burst", "limit": 1000, "duration_s": 3600}]
    await nodes.b.plans.update(nodes.admin, plan.id, {"ratelimits": burst})

    async def updated() -> bool:
        return "burst" in _limit_names(await nodes.a.verify(key))

    await until(updated, time.monotonic())


@SHARED_STORES
async def test_owner_change_reaches_the_other_node(nodes: Nodes) -> None:
    key, _ = await cached_key(nodes, owner_id="acme")
    await nodes.b.owners.put(
        nodes.admin, "acme", ratelimits=[{"name": "owner_rpm", "limit": 1000, "duration_s": 60}]
    )

    async def updated() -> bool:
        return "owner.owner_rpm" in _limit_names(await nodes.a.verify(key))

    await until(updated, time.monotonic())


@SHARED_STORES
async def test_root_key_revoke_reaches_the_other_node(nodes: Nodes) -> None:
    created = await nodes.b.root_keys.create(nodes.admin, name="ci")
    assert (await nodes.a.root_keys.authenticate(created.plaintext)).actor.endswith(
        created.root_key.id
    )
    await nodes.b.root_keys.revoke(nodes.admin, created.root_key.id)

    async def refused() -> bool:
        try:
            await nodes.a.root_keys.authenticate(created.plaintext)
        except Unauthorized:
            return True
        return False

    await until(refused, time.monotonic())


@SHARED_STORES
async def test_a_node_ignores_its_own_messages(nodes: Nodes) -> None:
    bus = nodes.a.invalidation
    assert bus is not None
    key, key_id = await cached_key(nodes)
    before = bus.received
    await nodes.a.keys.disable(nodes.admin, key_id)
    await until(lambda: verdict_is(nodes.b, key, Code.DISABLED), time.monotonic())
    await asyncio.sleep(0.1)
    assert bus.received == before


@SHARED_STORES
async def test_messages_carry_ids_only(nodes: Nodes, monkeypatch: pytest.MonkeyPatch) -> None:
    """What goes on the wire: the node, the kind and ids; never key material."""
    bus = nodes.a.invalidation
    assert bus is not None
    sent: list[str] = []
    channel = bus._channel
    original = channel.publish

    async def spy(payload: str) -> None:
        sent.append(payload)
        await original(payload)

    monkeypatch.setattr(channel, "publish", spy)
    created = await nodes.a.keys.create(nodes.admin, api_id=nodes.api_id)
    await nodes.a.keys.revoke(nodes.admin, created.key.id)
    await until(lambda: verdict_is(nodes.b, created.plaintext, Code.REVOKED), time.monotonic())

    async def both_sent() -> bool:
        return len(sent) >= 2

    await until(both_sent, time.monotonic())
    messages = [json.loads(payload) for payload in sent]
    assert messages == [  # the key's tokens denied (workspace_id: who may see it), the key
        {"node": bus.node, "kind": "token", "id": nodes.api_id, "workspace_id": ANY},
        {"node": bus.node, "kind": "key", "id": created.key.id, "workspace_id": None},
    ]
    assert created.plaintext not in "".join(sent)
    assert created.plaintext.partition("_")[2] not in "".join(sent)


@ON_POSTGRES
async def test_listener_reconnects_flushes_and_receives_again(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    import psycopg

    caplog.set_level(logging.WARNING, logger="keystead.invalidation")
    a = await Keystead.open(settings=settings)
    b = await Keystead.open(settings=settings)
    try:
        admin = await b.workspaces.local_operator()
        api = await b.apis.create(admin, name="shared")
        first = await b.keys.create(admin, api_id=api.id)
        second = await b.keys.create(admin, api_id=api.id)
        for created in (first, second):
            assert (await a.verify(created.plaintext)).valid
        bus = a.invalidation
        assert bus is not None
        pid = bus.listener_pid()
        assert pid is not None
        async with await psycopg.AsyncConnection.connect(
            settings.database_url, autocommit=True
        ) as admin_conn:
            await admin_conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        started = time.monotonic()
        while bus.reconnects == 0:
            assert time.monotonic() - started < 5.0, "the listener did not reconnect"
            await asyncio.sleep(0.02)
        assert bus.listener_pid() not in (None, pid)
        assert len(a._ctx.keys) == 0  # flushed: it may have missed messages
        assert any("reconnected" in r.getMessage() for r in caplog.records)
        assert (await a.verify(second.plaintext)).valid  # cached again
        await b.keys.revoke(admin, second.key.id)
        await until(lambda: verdict_is(a, second.plaintext, Code.REVOKED), time.monotonic())
    finally:
        await a.close()
        await b.close()


@SHARED_STORES
async def test_publishing_never_fails_the_change(settings: Settings) -> None:
    """A channel that cannot publish: the change still succeeds, the error is logged."""
    tuned = settings.model_copy(update={"invalidation_url": "redis://127.0.0.1:1/0"})
    ks = await Keystead.open(settings=tuned)
    try:
        admin = await ks.workspaces.local_operator()
        api = await ks.apis.create(admin, name="api")
        created = await ks.keys.create(admin, api_id=api.id)
        started = time.monotonic()
        await ks.keys.revoke(admin, created.key.id)
        assert time.monotonic() - started < 0.5
        assert (await ks.verify(created.plaintext)).code is Code.REVOKED
    finally:
        await ks.close()


def test_channel_url_is_derived_from_the_backends() -> None:
    pg = "postgresql://u@h/db"
    assert resolve_url("", pg, "redis://r/0") == pg
    assert resolve_url("", "sqlite:///k.db", "redis://r/0") == "redis://r/0"
    assert resolve_url("", "sqlite:///k.db", "memory://") is None
    maria = "mysql://u@h/db"  # no LISTEN/NOTIFY: a Redis limiter's server, else the TTL
    assert resolve_url("", maria, "redis://r/0") == "redis://r/0"
    assert resolve_url("", maria, "memory://") is None
    assert resolve_url("", "mariadb://u@h/db", "redis://r/0") == "redis://r/0"
    assert resolve_url("", "sqlite:///k.db", "redis+cluster://r/0") is None
    assert resolve_url("none", pg, "memory://") is None
    assert resolve_url("redis://r/1", pg, "memory://") == "redis://r/1"
    with pytest.raises(ConfigurationError):
        resolve_url("kafka://x", pg, "memory://")


def test_malformed_messages_are_ignored() -> None:
    applied: list[tuple[str, str | None, str | None]] = []

    class Silent:
        async def connect(self) -> None: ...

    bus = InvalidationBus(Silent(), lambda *m: applied.append(m), lambda: None)  # type: ignore[arg-type]
    for payload in ("", "[]", '{"kind": "key"}', '{"node": "x", "kind": "nope", "id": "k"}'):
        bus._receive(payload)
    bus._receive(f'{{"node": "{bus.node}", "kind": "key", "id": "k"}}')
    bus._receive('{"node": "other", "kind": "key", "id": "k", "workspace_id": null}')
    assert applied == [("key", "k", None)]
