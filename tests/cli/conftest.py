"""CLI fixtures: a clean KEYSTEAD_* environment pointing at a store in tmp_path.

``ready`` runs each test twice: on the local store (the HTTP app in-process) and
against a real ``keystead serve`` (one per session, a fresh workspace per test),
so every command is proven to mean the same in both modes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from keystead.config import Settings
from keystead.service import Keystead
from serving import Server, serving

from ._support import Cli

_KEEP = {"KEYSTEAD_TEST_POSTGRES_URL", "KEYSTEAD_TEST_REDIS_URL", "KEYSTEAD_TEST_MARIADB_URL"}
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


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real ``keystead serve`` for the remote runs of the CLI tests."""
    with serving(tmp_path_factory.mktemp("served")) as running:
        yield running


@pytest.fixture(params=["local", "remote"])
def ready(request: pytest.FixtureRequest, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The CLI on an initialised SQLite store (``local``), or on a workspace of its
    own of a real server (``remote``: ``KEYSTEAD_URL`` and the workspace's root key)."""
    if request.param == "local":
        cli.json("init")
        return cli
    server: Server = request.getfixturevalue("shared_server")
    root_key = asyncio.run(_new_workspace(server, request.node.name[:200]))
    server.revealed.append(root_key)
    monkeypatch.setenv("KEYSTEAD_URL", server.url)
    monkeypatch.setenv("KEYSTEAD_ROOT_KEY", root_key)
    return cli


async def _new_workspace(server: Server, name: str) -> str:
    """A new workspace of the server's store, and its first root key."""
    home = server.log.parent
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{home / 'server.db'}",
        secret_file=home / "server.secret",
    )
    ks = await Keystead.open(settings=settings, create_secret=False)
    try:
        created = await ks.workspaces.create(name)
    finally:
        await ks.close()
    return created.root_key.plaintext


@pytest.fixture
def ready_local(cli: Cli) -> Cli:
    """The CLI on an initialised SQLite store, for what only a local store shows."""
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
