"""Shared fixtures. One backend table: every store-touching test runs on
SQLite, on the real PostgreSQL server named by KEYSTEAD_TEST_POSTGRES_URL
(each PostgreSQL test gets a fresh schema, dropped afterwards) and on the real
MariaDB server named by KEYSTEAD_TEST_MARIADB_URL (a fresh database, dropped
afterwards)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.service import Keystead

POSTGRES_ENV = "KEYSTEAD_TEST_POSTGRES_URL"
MARIADB_ENV = "KEYSTEAD_TEST_MARIADB_URL"


def pytest_configure(config: pytest.Config) -> None:
    """Commands under test see what a pipe shows: pytest-xdist's workers set
    COLUMNS=80 for their own output, which would narrow every CLI table."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.pop("COLUMNS", None)
        os.environ.pop("LINES", None)


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", id="mariadb", marks=pytest.mark.mariadb),
]


def postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests need a server")
    return url


def mariadb_url() -> str:
    url = os.environ.get(MARIADB_ENV)
    if not url:
        pytest.skip(f"{MARIADB_ENV} is not set: MariaDB tests need a server")
    return url


_MARIADB_SPARE: list[str] = []
"""Databases of past tests, migrated to the head and emptied of rows: the next test
takes one (a migration makes some 130 DDL statements, seconds each time on MariaDB)."""


def _mariadb_run(url: str, *statements: str, database: str | None = None) -> list[Any]:
    import pymysql

    from keystead.store.sql.mysql import blocking_arguments

    conn = pymysql.connect(**{**blocking_arguments(url), "database": database}, autocommit=True)
    try:
        found: list[Any] = []
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
                found.extend(cursor.fetchall())
        return found
    finally:
        conn.close()


def _mariadb_reusable(url: str, name: str) -> bool:
    """Empty every table of ``name`` if it is at the head revision (a test may
    have left it unmigrated or elsewhere: then it is not reused)."""
    from keystead.store.sql.engine import head_revision

    tables = [
        row[0]
        for row in _mariadb_run(
            url,
            "SELECT table_name FROM information_schema.tables "  # noqa: S608 - our name
            f"WHERE table_schema = '{name}'",
        )
    ]
    if "alembic_version" not in tables:
        return False
    version = _mariadb_run(url, "SELECT version_num FROM alembic_version", database=name)
    if [row[0] for row in version] != [head_revision()]:
        return False
    wipe = [f"DELETE FROM `{t}`" for t in tables if t != "alembic_version"]  # noqa: S608
    _mariadb_run(url, "SET FOREIGN_KEY_CHECKS = 0", *wipe, database=name)
    return True


@contextmanager
def fresh_mariadb_database(url: str) -> Iterator[str]:
    """A database of no rows on the server of ``url`` (its URL): a new one, or one a
    past test left at the head revision, emptied; dropped at the end of the run."""
    from sqlalchemy.engine import make_url

    if _MARIADB_SPARE:
        name = _MARIADB_SPARE.pop()
    else:
        name = f"ks_test_{secrets.token_hex(6)}"
        _mariadb_run(url, f"CREATE DATABASE `{name}`")
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        if _mariadb_reusable(url, name):
            _MARIADB_SPARE.append(name)
        else:
            _mariadb_run(url, f"DROP DATABASE IF EXISTS `{name}`")


def pytest_sessionfinish(session: pytest.Session) -> None:
    url = os.environ.get(MARIADB_ENV)
    while url and _MARIADB_SPARE:
        _mariadb_run(url, f"DROP DATABASE IF EXISTS `{_MARIADB_SPARE.pop()}`")


def _fresh_schema(url: str) -> tuple[str, str]:
    """Create an empty schema; return (schema, URL whose search_path is it)."""
    import psycopg

    schema = f"ks_test_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in url else "?"
    return schema, f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


def _drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def backend_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of a ``BACKENDS`` entry, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'keystead.db'}"
        return
    if backend == "mariadb":
        with fresh_mariadb_database(mariadb_url()) as url:
            yield url
        return
    base = postgres_url()
    schema, url = _fresh_schema(base)
    try:
        yield url
    finally:
        _drop_schema(base, schema)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with backend_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_750_000_000.0)


@pytest.fixture
def server_secret() -> str:
    return secrets.token_hex(32)


@pytest.fixture
def settings(database_url: str, server_secret: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        secret=server_secret,
        secret_file=tmp_path / "keystead.secret",
    )


@pytest.fixture
async def keystead(settings: Settings, clock: ManualClock) -> AsyncIterator[Keystead]:
    ks = await Keystead.open(settings=settings, clock=clock)
    try:
        yield ks
    finally:
        await ks.close()


@pytest.fixture
async def vault(settings: Settings, clock: ManualClock) -> AsyncIterator[Keystead]:
    """A service with a ``file://`` master key (as after ``keystead init``): for secrets."""
    ks = await Keystead.open(settings=settings, clock=clock, create_master_key=True)
    try:
        yield ks
    finally:
        await ks.close()


@pytest.fixture
async def admin(keystead: Keystead) -> Principal:
    """The local operator of the first workspace: every permission."""
    return await keystead.workspaces.local_operator()


REDIS_ENV = "KEYSTEAD_TEST_REDIS_URL"

LIMITERS = [
    pytest.param("memory", id="memory"),
    pytest.param(
        "redis",
        id="redis",
        marks=pytest.mark.skipif(
            not os.environ.get(REDIS_ENV), reason=f"{REDIS_ENV} is not set: needs Redis"
        ),
    ),
]


def drop_workspace_counters(workspace_ids: list[str]) -> None:
    """Delete the Redis counters of these workspaces (their hash tag is the id)."""
    import redis

    client = redis.Redis.from_url(os.environ[REDIS_ENV])
    try:
        for workspace_id in workspace_ids:
            doomed = list(client.scan_iter(match=f"{{{workspace_id}}}*", count=1000))
            if doomed:
                client.delete(*doomed)
    finally:
        client.close()


@pytest.fixture(params=LIMITERS)
async def limited_keystead(
    request: pytest.FixtureRequest, settings: Settings, clock: ManualClock
) -> AsyncIterator[Keystead]:
    """A service whose limiter is memory:// or the real Redis, with a small
    failed-attempts limit (3) so brute-force tests stay short."""
    url = "memory://" if request.param == "memory" else os.environ[REDIS_ENV]
    tuned = settings.model_copy(update={"limits_url": url, "failed_attempts_limit": 3})
    ks = await Keystead.open(settings=tuned, clock=clock)
    try:
        yield ks
    finally:
        workspaces = [w.id for w in await ks.workspaces.list()]
        await ks.close()
        if request.param == "redis":
            drop_workspace_counters(workspaces)
