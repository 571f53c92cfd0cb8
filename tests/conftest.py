"""Shared fixtures. One backend table: every store-touching test runs on
SQLite and on the real PostgreSQL server named by KEYSTEAD_TEST_POSTGRES_URL
(each PostgreSQL test gets a fresh schema, dropped afterwards)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.service import Keystead

POSTGRES_ENV = "KEYSTEAD_TEST_POSTGRES_URL"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL tests need a server")
    return url


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


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'keystead.db'}"
        return
    base = postgres_url()
    schema, url = _fresh_schema(base)
    try:
        yield url
    finally:
        _drop_schema(base, schema)


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
async def admin(keystead: Keystead) -> Principal:
    """The local operator of the first workspace: every permission."""
    return await keystead.workspaces.local_operator()
