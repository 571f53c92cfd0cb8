"""The audit appenders of read batches (``store/sql/audit_thread.py``, on SQLite and
PostgreSQL): batches on a thread and connection of their own write the same chain as
the engine's path, and a database they cannot write to (another writer holding
SQLite's lock past the busy timeout, a PostgreSQL backend killed) is a clear
``StoreUnavailable`` that loses nothing, leaves the chain whole, and the next batch
goes through on a fresh connection."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conftest import POSTGRES_ENV
from keystead.config import Settings
from keystead.core.audit import AuditRecord
from keystead.core.authz import Principal
from keystead.core.ids import new_id
from keystead.errors import StoreUnavailable
from keystead.service import Keystead
from keystead.store.sql import audit_sqlite
from keystead.store.sql.audit_mysql import mysql_audit_appender
from keystead.store.sql.audit_postgres import postgres_audit_appender
from keystead.store.sql.audit_sqlite import sqlite_audit_appender
from keystead.store.sql.audit_thread import AuditThread


def _appender(settings: Settings) -> AuditThread[Any]:
    url = settings.database_url
    if url.startswith("sqlite"):
        return sqlite_audit_appender(Path(url.removeprefix("sqlite:///")))
    if url.startswith("mysql"):
        return mysql_audit_appender(url)
    return postgres_audit_appender(url)


def _records(root: Principal, count: int, tag: str) -> list[AuditRecord]:
    return [
        AuditRecord(
            id=new_id("aud", 1.0e9),
            workspace_id=root.workspace_id,
            at=datetime.now(UTC),
            actor=root.actor,
            action="secret.read",
            target_type="secret",
            target_id=f"secret/{tag}{n}",
            request_id=f"req-{tag}{n}",
        )
        for n in range(count)
    ]


async def test_batches_and_changes_interleave_in_one_intact_chain(settings: Settings) -> None:
    ks = await Keystead.open(settings=settings, create_master_key=True)
    try:
        root = await ks.workspaces.local_operator()
        appender = _appender(settings)
        try:
            await asyncio.gather(
                appender.append(_records(root, 30, "a")),
                ks.secrets.put(root, "secret", "app/one", {"v": "1"}),  # the engine's path
                appender.append(_records(root, 30, "b")),
            )
        finally:
            await appender.close()
        entries = [e async for e in ks.audit.export(root)]
        reads = [str(e.record.target_id) for e in entries if e.record.action == "secret.read"]
        assert sorted(reads) == sorted(
            [f"secret/a{n}" for n in range(30)] + [f"secret/b{n}" for n in range(30)]
        )
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert (await ks.audit.verify(root)).ok
    finally:
        await ks.close()


async def test_an_appender_whose_head_moved_meanwhile_appends_after_the_real_one(
    settings: Settings,
) -> None:
    """Two appenders (as two nodes) and changes take turns on two workspaces: each
    batch lands after whatever was appended last, alone or in a batch that spans
    both workspaces, and both chains stay whole."""
    ks = await Keystead.open(settings=settings, create_master_key=True)
    one, two = _appender(settings), _appender(settings)
    try:
        root = await ks.workspaces.local_operator()
        second = await ks.workspaces.create("second")
        other = await ks.workspaces.local_operator(second.workspace.id)
        await one.append(_records(root, 3, "a") + _records(other, 2, "a"))
        await one.append(_records(root, 3, "b"))  # after its own batch
        await two.append(_records(root, 4, "c"))  # moves the head under ``one``
        await one.append(_records(root, 2, "d"))
        await ks.secrets.put(root, "secret", "app/one", {"v": "1"})  # the engine's path
        await one.append(_records(root, 2, "e") + _records(other, 3, "e"))
        await two.append(_records(other, 1, "f"))
        await one.append(_records(other, 2, "g") + _records(root, 1, "g"))
        for who, expected in ((root, "a3 b3 c4 d2 e2 g1"), (other, "a2 e3 f1 g2")):
            entries = [e async for e in ks.audit.export(who)]
            assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
            reads = [str(e.record.target_id) for e in entries if e.record.action == "secret.read"]
            tags = [(t[0], int(t[1])) for t in expected.split()]
            assert reads == [f"secret/{tag}{n}" for tag, count in tags for n in range(count)]
            assert (await ks.audit.verify(who)).ok
    finally:
        await one.close()
        await two.close()
        await ks.close()


async def test_a_database_locked_past_the_timeout_is_store_unavailable_then_recovers(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's busy timeout; PostgreSQL: the killed backend below")
    monkeypatch.setattr(audit_sqlite, "BUSY_TIMEOUT_MS", 50)
    path = Path(settings.database_url.removeprefix("sqlite:///"))
    ks = await Keystead.open(settings=settings, create_master_key=True)
    appender = sqlite_audit_appender(path)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        root = await ks.workspaces.local_operator()
        before = [e async for e in ks.audit.export(root)]
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock

        with pytest.raises(StoreUnavailable, match="sqlite store failed: OperationalError"):
            await appender.append(_records(root, 5, "locked"))

        holder.execute("ROLLBACK")
        await appender.append(_records(root, 5, "after"))
        entries = [e async for e in ks.audit.export(root)]
        added = [e.record.target_id for e in entries[len(before) :]]
        assert added == [f"secret/after{n}" for n in range(5)]
        assert (await ks.audit.verify(root)).ok
    finally:
        holder.close()
        await appender.close()
        await ks.close()


@pytest.mark.postgres
async def test_a_killed_postgres_backend_is_store_unavailable_then_a_fresh_connection(
    settings: Settings,
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL backend")
    import psycopg

    ks = await Keystead.open(settings=settings, create_master_key=True)
    appender = _appender(settings)
    try:
        root = await ks.workspaces.local_operator()
        await appender.append(_records(root, 3, "first"))
        connection = appender._connection
        assert isinstance(connection, psycopg.Connection)
        with psycopg.connect(os.environ[POSTGRES_ENV], autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (connection.info.backend_pid,))

        with pytest.raises(StoreUnavailable, match="postgresql store failed"):
            await appender.append(_records(root, 3, "lost"))

        await appender.append(_records(root, 3, "after"))
        entries = [e async for e in ks.audit.export(root)]
        reads = [e.record.target_id for e in entries if e.record.action == "secret.read"]
        assert reads == [f"secret/first{n}" for n in range(3)] + [
            f"secret/after{n}" for n in range(3)
        ]
        assert (await ks.audit.verify(root)).ok
    finally:
        await appender.close()
        await ks.close()


async def test_an_appender_closed_twice_then_used_again_writes_on(settings: Settings) -> None:
    """As an engine once disposed: the store may be closed, then used (or closed) again."""
    ks = await Keystead.open(settings=settings, create_master_key=True)
    appender = _appender(settings)
    try:
        root = await ks.workspaces.local_operator()
        await appender.append(_records(root, 2, "before"))
        await appender.close()
        await appender.close()
        await appender.append(_records(root, 2, "after"))
        entries = [e async for e in ks.audit.export(root)]
        reads = [e.record.target_id for e in entries if e.record.action == "secret.read"]
        assert reads == ["secret/before0", "secret/before1", "secret/after0", "secret/after1"]
        assert (await ks.audit.verify(root)).ok
    finally:
        await appender.close()
        await ks.close()
