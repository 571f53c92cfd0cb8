"""Engine set-up: map user URLs to async drivers, import drivers lazily,
turn on WAL for SQLite, and run the Alembic migrations."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from keystead.errors import ConfigurationError, MissingDependency

_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_ID = 0x6B657973  # "keys": serialises migrations across nodes
_MIGRATE_LOCK = "keystead.migrate"  # the same on MariaDB and MySQL


def async_url(url: str) -> sa.URL:
    """``sqlite:///x.db`` -> aiosqlite, ``postgresql://`` -> psycopg (async),
    ``mysql://`` or ``mariadb://`` -> asyncmy (utf8mb4)."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigurationError("the database URL could not be parsed") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        if importlib.util.find_spec("psycopg") is None:
            raise MissingDependency(
                "PostgreSQL needs the psycopg driver: pip install 'keystead[postgres]'"
            )
        return parsed.set(drivername="postgresql+psycopg")
    if backend in ("mysql", "mariadb"):
        if (
            importlib.util.find_spec("asyncmy") is None
            or importlib.util.find_spec("pymysql") is None
        ):
            raise MissingDependency(
                "MariaDB and MySQL need the asyncmy and PyMySQL drivers: "
                "pip install 'keystead[mysql]'"
            )
        import keystead.store.sql.mysql  # noqa: F401  (registers its DDL forms)

        return parsed.set(drivername="mysql+asyncmy").update_query_dict({"charset": "utf8mb4"})
    raise ConfigurationError(f"unsupported database backend '{backend}'")


def create_engine(url: str, *, isolation_level: str | None = None) -> AsyncEngine:
    """``isolation_level="AUTOCOMMIT"``: an engine for single-statement reads, set once
    per connection (an ``execution_options`` override sets and resets it on every
    checkout: a round trip to the driver's thread each way on SQLite)."""
    target = async_url(url)
    level: dict[str, Any] = {} if isolation_level is None else {"isolation_level": isolation_level}
    if target.get_backend_name() == "sqlite":
        database = target.database or ""
        if database not in ("", ":memory:"):
            _create_private(Path(database).expanduser())
        engine = create_async_engine(
            target, connect_args={"timeout": 30}, json_deserializer=json_loads, **level
        )
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if target.get_backend_name() == "mysql":
        # READ COMMITTED, as on PostgreSQL: REPEATABLE READ's gap locks would make
        # concurrent inserts into one index range deadlock, and a transaction's reads
        # would not see what another committed after its first read
        level.setdefault("isolation_level", "READ COMMITTED")
    # No pre-ping (a round trip per checkout): a dropped connection fails one call
    # with StoreUnavailable and is discarded by the pool; recycling bounds its age.
    engine = create_async_engine(
        target,
        pool_size=10,
        max_overflow=20,
        pool_recycle=1800,
        json_deserializer=json_loads,
        **level,
    )
    if target.get_backend_name() == "mysql":
        sa.event.listen(engine.sync_engine, "connect", _mysql_session)
    return engine


def in_memory(url: str) -> bool:
    """A SQLite database in memory: each connection of another engine is another one."""
    target = async_url(url)
    return target.get_backend_name() == "sqlite" and (target.database or "") in ("", ":memory:")


def _create_private(path: Path) -> None:
    """Create a missing SQLite file with mode 0600 before SQLite opens it: key
    hashes, audit and usage are for Keystead alone, and SQLite gives the -wal
    and -shm files it creates the mode of the database file. An existing file
    keeps the mode its owner gave it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def json_loads(text: str | bytes) -> Any:
    """JSON columns as read: by orjson (a series reads three per rollup row, and
    the standard library's parser was most of that read), or by the standard
    library for what orjson refuses (integers beyond 64 bits, which a library
    caller may store), so every stored value reads back."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _mysql_session(dbapi_connection: Any, _record: Any) -> None:
    """UTC for the server's own time functions (stored times are UTC already), and
    no silent cut of a GROUP_CONCAT (1 MB by default: a usage replay's list of times)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("SET time_zone = '+00:00', group_concat_max_len = 4294967295")
    cursor.close()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def head_revision() -> str:
    """The newest migration's revision: each file is named after its revision
    (``0010_rollup_series.py`` is ``"0010"``; tests/store checks it)."""
    numbered = (p.name[:4] for p in (_MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    return max(numbered)


def _at_head(connection: sa.Connection) -> bool:
    """Whether the schema is at the newest revision already. Most opens find it
    so, and then Alembic (a fifth of a second to import, more to load its
    scripts) is not loaded at all: a local CLI command opens the store each time."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return False
    rows = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    return [row[0] for row in rows] == [head_revision()]


def _upgrade(connection: sa.Connection) -> None:
    from alembic import command
    from alembic.config import Config

    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    if connection.dialect.name != "mysql":
        command.upgrade(config, "head")
        return
    from keystead.store.sql.mysql import session_lock, session_unlock

    session_lock(connection, _MIGRATE_LOCK)  # a session lock: DDL commits as it goes
    try:
        command.upgrade(config, "head")
    finally:
        session_unlock(connection, _MIGRATE_LOCK)


async def migrate(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        if not await connection.run_sync(_at_head):
            await connection.run_sync(_upgrade)


__all__ = ["async_url", "create_engine", "head_revision", "migrate"]
