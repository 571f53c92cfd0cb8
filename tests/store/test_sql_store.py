import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from keystead.config import Settings
from keystead.core.models import Workspace
from keystead.errors import ConfigurationError, Conflict, StoreUnavailable
from keystead.service import Keystead
from keystead.store import open_store
from keystead.store.sql import SqlStore, engine
from keystead.store.sql.mysql import PARTIAL_UNIQUES
from keystead.store.sql.tables import metadata


async def test_migrations_match_the_tables(keystead: Keystead) -> None:
    store = keystead.store
    assert isinstance(store, SqlStore)

    def diff(connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"include_object": declared})
        return list(compare_metadata(context, metadata))

    stand_ins = {p.generated for p in PARTIAL_UNIQUES} | {p.index for p in PARTIAL_UNIQUES}

    def declared(item: object, name: str | None, kind: str, *_: object) -> bool:
        """On MariaDB a partial unique index is a generated column and a unique
        index on it (``mysql.PartialUnique``): compared by the tests that use it."""
        return store.dialect != "mysql" or name not in stand_ins

    async with store._engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert changes == []


async def test_migrating_twice_is_harmless(keystead: Keystead) -> None:
    await keystead.store.migrate()
    assert await keystead.store.list_workspaces() == []


def test_each_migration_file_is_named_after_its_revision() -> None:
    """``head_revision`` reads the newest revision off the file names, without
    loading Alembic; Alembic's own reading must agree."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(Path(engine.__file__).parent / "migrations"))
    assert scripts.get_current_head() == engine.head_revision()
    for script in scripts.walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_")


async def test_a_store_behind_the_head_is_migrated(keystead: Keystead) -> None:
    """A store at an older revision is brought to the head on open, although one
    at the head skips Alembic."""
    from alembic import command
    from alembic.config import Config

    store = keystead.store
    assert isinstance(store, SqlStore)

    def downgrade(connection: sa.Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(Path(engine.__file__).parent / "migrations"))
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")

    def read(connection: sa.Connection) -> tuple[object, set[str]]:
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
        columns = {c["name"] for c in sa.inspect(connection).get_columns("ks_usage_rollups")}
        return version.scalar(), columns

    async with store._engine.begin() as connection:
        await connection.run_sync(downgrade)
        assert (await connection.run_sync(read))[0] == "0009"
    await store.migrate()
    async with store._engine.connect() as connection:
        version, columns = await connection.run_sync(read)
    assert version == engine.head_revision()
    assert "distinct_ips" in columns


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
    with pytest.raises(ConfigurationError, match="unknown database URL scheme 'oracle'"):
        open_store("oracle://localhost/db")


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


async def test_a_new_sqlite_database_and_its_wal_files_are_private(
    tmp_path: Path, server_secret: str
) -> None:
    """Key hashes, audit and usage are for Keystead only: 0600 whatever the umask,
    for the database and the -wal and -shm files SQLite creates beside it."""
    path = tmp_path / "private.db"
    settings = Settings(_env_file=None, database_url=f"sqlite:///{path}", secret=server_secret)
    previous = os.umask(0o022)
    try:
        ks = await Keystead.open(settings=settings)
    finally:
        os.umask(previous)
    try:
        admin = await ks.workspaces.local_operator()
        api = await ks.apis.create(admin, name="payments", prefix="acme")
        created = await ks.keys.create(admin, api_id=api.id)
        assert (await ks.verify(created.plaintext)).valid
        files = [path, path.with_name("private.db-wal"), path.with_name("private.db-shm")]
        assert {file.name: stat.S_IMODE(file.stat().st_mode) for file in files} == {
            file.name: 0o600 for file in files
        }
    finally:
        await ks.close()
