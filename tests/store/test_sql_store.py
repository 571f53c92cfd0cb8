from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from keystead.config import Settings
from keystead.core.models import Workspace
from keystead.errors import ConfigurationError, Conflict, StoreUnavailable
from keystead.service import Keystead
from keystead.store import open_store
from keystead.store.sql import SqlStore
from keystead.store.sql.tables import metadata


async def test_migrations_match_the_tables(keystead: Keystead) -> None:
    store = keystead.store
    assert isinstance(store, SqlStore)

    def diff(connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(connection)
        return list(compare_metadata(context, metadata))

    async with store._engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert changes == []


async def test_migrating_twice_is_harmless(keystead: Keystead) -> None:
    await keystead.store.migrate()
    assert await keystead.store.list_workspaces() == []


async def test_duplicate_ids_are_conflicts(keystead: Keystead) -> None:
    workspace = Workspace(id="ws_1", name="one", created_at=datetime.now(UTC))
    await keystead.store.insert_workspace(workspace)
    with pytest.raises(Conflict):
        await keystead.store.insert_workspace(workspace)


async def test_sqlite_uses_wal(tmp_path: object, server_secret: str) -> None:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path}/wal.db",
        secret=server_secret,
    )
    ks = await Keystead.open(settings=settings)
    try:
        store = ks.store
        assert isinstance(store, SqlStore)
        async with store._engine.connect() as connection:
            mode = (await connection.execute(sa.text("PRAGMA journal_mode"))).scalar()
        assert mode == "wal"
    finally:
        await ks.close()


async def test_unreachable_postgres_is_store_unavailable() -> None:
    store = open_store("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    try:
        with pytest.raises(StoreUnavailable):
            await store.migrate()
    finally:
        await store.close()


def test_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown database URL scheme 'mysql'"):
        open_store("mysql://localhost/db")


async def test_a_damaged_sqlite_file_is_store_unavailable(tmp_path: object) -> None:
    """Not a 500 with a driver's traceback: the same answer as a store that is down."""
    from pathlib import Path

    path = Path(str(tmp_path)) / "damaged.db"
    store = open_store(f"sqlite:///{path}")
    await store.migrate()
    await store.close()
    for name in (path, path.with_name("damaged.db-wal"), path.with_name("damaged.db-shm")):
        if name.exists():
            name.unlink()
    path.write_bytes(b"this is not a database" * 512)
    damaged = open_store(f"sqlite:///{path}")
    try:
        with pytest.raises(StoreUnavailable):
            await damaged.list_workspaces()
    finally:
        await damaged.close()
