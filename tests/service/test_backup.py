"""Backup and restore across every pair of store kinds: after a restore the audit
chain verifies, every key answers as before, secrets read back the same, and
the store takes new writes (its counters moved past the restored ids)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from backup_support import (
    PAIRS,
    populate,
    relabel,
    settings_for,
    table_counts,
    table_rows,
    two_databases,
    verdicts,
)

from conftest import backend_database
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.errors import NotFound
from keystead.service import Keystead
from keystead.service.backup import backup, restore
from keystead.store.sql.backup_tables import USAGE_TABLE
from keystead.store.sql.engine import create_engine, head_revision


@pytest.mark.parametrize(("source", "target"), PAIRS)
async def test_a_store_moves_to_another_kind_and_answers_as_before(
    source: str, target: str, tmp_path: Path, server_secret: str, clock: ManualClock
) -> None:
    with two_databases(source, target, tmp_path) as (source_url, target_url):
        origin = settings_for(source_url, server_secret, tmp_path)
        async with await Keystead.open(settings=origin, clock=clock, create_master_key=True) as ks:
            world = await populate(ks, await ks.workspaces.local_operator(), clock)
            taken = await backup(origin, tmp_path / "store.ksbk", with_usage=True, clock=clock)
        before = await table_counts(source_url)

        moved = settings_for(target_url, server_secret, tmp_path)
        restored = await restore(moved, tmp_path / "store.ksbk")

        assert restored.tables == taken.tables
        assert taken.tables[USAGE_TABLE] > 0
        assert await table_counts(target_url) == before
        assert await table_rows(target_url) == await table_rows(source_url)
        assert (restored.scope, restored.encryption) == ("store", "master-key")
        engine = create_engine(target_url)
        assert restored.database == engine.dialect.name
        await engine.dispose()
        async with await Keystead.open(settings=moved, clock=clock) as ks:
            root = await ks.workspaces.local_operator(world.workspace_id)
            report = await ks.audit.verify(root)
            assert report.ok, report.breaks
            assert (report.entries, report.checkpoints) == (world.audit_entries, 1)
            assert await verdicts(ks, world.keys) == world.verdicts
            for version, data in world.secret_versions.items():
                read = await ks.secrets.get(root, "secret", "payments/stripe", version)
                assert dict(read.data) == data
            # the restored store takes new rows: its id counters are past the restored ones
            await ks.keys.create(root, api_id=(await ks.apis.list(root))[0].id)
            await verdicts(ks, world.keys[:1])
            clock.advance(3600)
            await ks.flush()
            assert (await ks.audit.verify(root)).ok
        after = await table_counts(target_url)
        assert after[USAGE_TABLE] > before[USAGE_TABLE]


async def _source(
    tmp_path: Path, secret: str, clock: ManualClock, url: str | None = None
) -> tuple[Keystead, str]:
    url = url or f"sqlite:///{tmp_path / 'source.db'}"
    settings = settings_for(url, secret, tmp_path)
    ks = await Keystead.open(settings=settings, clock=clock, create_master_key=True)
    return ks, url


async def test_raw_usage_goes_in_only_when_asked_and_rollups_always(
    tmp_path: Path, server_secret: str, clock: ManualClock
) -> None:
    ks, url = await _source(tmp_path, server_secret, clock)
    async with ks:
        await populate(ks, await ks.workspaces.local_operator(), clock)
    settings = settings_for(url, server_secret, tmp_path)
    lean = await backup(settings, tmp_path / "lean.ksbk")
    full = await backup(settings, tmp_path / "full.ksbk", with_usage=True)

    assert USAGE_TABLE not in lean.tables
    assert full.tables[USAGE_TABLE] > 0
    assert lean.tables["ks_usage_rollups"] == full.tables["ks_usage_rollups"] > 0
    target = settings_for(f"sqlite:///{tmp_path / 'lean.db'}", server_secret, tmp_path)
    await restore(target, tmp_path / "lean.ksbk")
    counts = await table_counts(target.database_url)
    assert (counts[USAGE_TABLE], counts["ks_usage_rollups"]) == (0, full.tables["ks_usage_rollups"])


async def test_a_workspace_backup_holds_that_workspace_and_what_it_needs(
    tmp_path: Path, server_secret: str, clock: ManualClock
) -> None:
    ks, url = await _source(tmp_path, server_secret, clock)
    async with ks:
        first = await populate(ks, await ks.workspaces.local_operator(), clock)
        other = await ks.workspaces.create("other")
        second = await populate(ks, await ks.workspaces.local_operator(other.workspace.id), clock)
    settings = settings_for(url, server_secret, tmp_path)
    taken = await backup(settings, tmp_path / "ws.ksbk", workspace_id=second.workspace_id)
    assert (taken.scope, taken.workspace_id) == ("workspace", second.workspace_id)
    with pytest.raises(NotFound, match="no workspace"):
        await backup(settings, tmp_path / "none.ksbk", workspace_id="ws_missing")

    target = settings_for(f"sqlite:///{tmp_path / 'ws.db'}", server_secret, tmp_path)
    await restore(target, tmp_path / "ws.ksbk")
    async with await Keystead.open(settings=target, clock=clock) as restored:
        assert [w.id for w in await restored.workspaces.list()] == [second.workspace_id]
        root = await restored.workspaces.local_operator(second.workspace_id)
        report = await restored.audit.verify(root)
        assert report.ok and report.entries == second.audit_entries
        assert await verdicts(restored, second.keys) == second.verdicts
        assert {code for code, _ in await verdicts(restored, first.keys[:4])} == {"NOT_FOUND"}


async def test_a_backup_taken_while_writes_go_on_is_one_moment(
    tmp_path: Path, server_secret: str, clock: ManualClock, database_url: str
) -> None:
    """Another node creates keys (each with its audit entry) all the while the
    backup reads, which pauses after each batch of rows: what the backup holds
    is still one moment's, so the restored chain verifies and holds one
    ``key.create`` entry per key (read table by table, keys would outnumber them)."""
    ks, url = await _source(tmp_path, server_secret, clock, database_url)
    settings = settings_for(url, server_secret, tmp_path)
    async with ks:
        root = await ks.workspaces.local_operator()
        api = await ks.apis.create(root, name="busy")
    created = [0]
    stop = threading.Event()

    async def write() -> None:
        async with await Keystead.open(settings=settings, clock=clock) as node:
            while not stop.is_set():
                await node.keys.create(root, api_id=api.id)
                created[0] += 1

    writer = threading.Thread(target=asyncio.run, args=(write(),))
    writer.start()
    try:
        while created[0] < 3:
            await asyncio.sleep(0.01)
        before = created[0]
        taken = await backup(
            settings, tmp_path / "busy.ksbk", progress=lambda _table, _rows: time.sleep(0.02)
        )
        during = created[0] - before
    finally:
        stop.set()
        writer.join()
    assert during > 0  # keys were written while the backup read

    target = settings_for(f"sqlite:///{tmp_path / 'busy.db'}", server_secret, tmp_path)
    await restore(target, tmp_path / "busy.ksbk")
    async with await Keystead.open(settings=target, clock=clock) as restored:
        root = await restored.workspaces.local_operator(root.workspace_id)
        assert (await restored.audit.verify(root)).ok
        assert await _created(restored, root) == taken.tables["ks_keys"] > 0


async def _created(ks: Keystead, root: Principal) -> int:
    """How many ``key.create`` entries the workspace's audit log holds."""
    count, cursor = 0, None
    while True:
        page = await ks.audit.list(root, action="key.create", cursor=cursor, limit=100)
        count += len(page.items)
        if page.next_cursor is None:
            return count
        cursor = page.next_cursor


FRESH = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
"""Kinds of store whose test databases start with no schema at all."""


@pytest.mark.parametrize("kind", FRESH)
async def test_a_backup_of_an_older_schema_is_restored_then_migrated(
    tmp_path: Path, server_secret: str, clock: ManualClock, kind: str
) -> None:
    """A backup made at revision 0020 (0021 added only the imported keys' table, which
    this store leaves empty, so its other rows are 0020's too) restores at 0020, then
    the store is migrated to the newest."""
    ks, url = await _source(tmp_path, server_secret, clock)
    async with ks:
        world = await populate(ks, await ks.workspaces.local_operator(), clock)
    settings = settings_for(url, server_secret, tmp_path)
    await backup(settings, tmp_path / "new.ksbk")
    relabel(settings, tmp_path / "new.ksbk", tmp_path / "old.ksbk", "0020", {"ks_key_imports"})

    (tmp_path / "target").mkdir()
    with backend_database(kind, tmp_path / "target") as database_url:
        target = settings_for(database_url, server_secret, tmp_path)
        assert (await restore(target, tmp_path / "old.ksbk")).revision == "0020"
        async with await Keystead.open(settings=target, clock=clock, migrate=False) as restored:
            assert await restored.store.get_setting("secret_check") is not None
            root = await restored.workspaces.local_operator(world.workspace_id)
            assert (await restored.audit.verify(root)).ok
            assert await verdicts(restored, world.keys) == world.verdicts
        assert await _revision(database_url) == head_revision()


async def _revision(url: str) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            return str(found.scalar_one())
    finally:
        await engine.dispose()
