"""The SQLite file's audit appender (``store/sql/audit_sqlite.py``): batches on a
thread and connection of their own write the same chain as the engine's path,
and a database another writer holds locked past the busy timeout is a clear
``StoreUnavailable`` that loses nothing and leaves the chain whole."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from keystead.config import Settings
from keystead.core.audit import AuditRecord
from keystead.core.authz import Principal
from keystead.core.ids import new_id
from keystead.errors import StoreUnavailable
from keystead.service import Keystead
from keystead.store.sql import audit_sqlite
from keystead.store.sql.audit_sqlite import SqliteAuditAppender


@pytest.fixture
def sqlite_settings(settings: Settings) -> Settings:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the appender is for a SQLite file")
    return settings


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


async def test_batches_and_changes_interleave_in_one_intact_chain(
    sqlite_settings: Settings,
) -> None:
    ks = await Keystead.open(settings=sqlite_settings, create_master_key=True)
    try:
        root = await ks.workspaces.local_operator()
        appender = SqliteAuditAppender(
            Path(sqlite_settings.database_url.removeprefix("sqlite:///"))
        )
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


async def test_a_database_locked_past_the_timeout_is_store_unavailable_then_recovers(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_sqlite, "BUSY_TIMEOUT_MS", 50)
    path = Path(sqlite_settings.database_url.removeprefix("sqlite:///"))
    ks = await Keystead.open(settings=sqlite_settings, create_master_key=True)
    appender = SqliteAuditAppender(path)
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
