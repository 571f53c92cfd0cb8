"""CLI fixtures: a clean KEYSTEAD_* environment pointing at a store in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ._support import Cli

_KEEP = {"KEYSTEAD_TEST_POSTGRES_URL", "KEYSTEAD_TEST_REDIS_URL"}
REDIS_ENV = "KEYSTEAD_TEST_REDIS_URL"


def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    for name in list(os.environ):
        if name.startswith("KEYSTEAD_") and name not in _KEEP:
            monkeypatch.delenv(name)
    monkeypatch.setenv("KEYSTEAD_SECRET_FILE", str(tmp_path / "keystead.secret"))


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    """The CLI on a fresh SQLite store (not initialised yet)."""
    _clean_environment(monkeypatch, tmp_path)
    monkeypatch.setenv("KEYSTEAD_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return Cli()


@pytest.fixture
def cli_any(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Cli:
    """The CLI on every backend of the shared table: SQLite and PostgreSQL (a fresh
    schema when KEYSTEAD_TEST_POSTGRES_URL is set)."""
    _clean_environment(monkeypatch, tmp_path)
    monkeypatch.setenv("KEYSTEAD_DATABASE_URL", database_url)
    return Cli()


@pytest.fixture
def ready(cli: Cli) -> Cli:
    """The CLI on an initialised SQLite store."""
    cli.json("init")
    return cli


@pytest.fixture
def redis_limits(monkeypatch: pytest.MonkeyPatch) -> str:
    """Count limits in the Redis server named by KEYSTEAD_TEST_REDIS_URL, so that
    they carry over from one CLI command (one process) to the next."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set: limits across commands need Redis")
    monkeypatch.setenv("KEYSTEAD_LIMITS_URL", url)
    return url
