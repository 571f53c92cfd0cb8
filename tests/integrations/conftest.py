"""Fixtures of the integration tests. The service fixtures (``keystead``,
``admin``, ``settings``) come from tests/conftest.py; here they run on SQLite
only: the adapters are under test, the stores have their own suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keystead.config import Settings
from keystead.sync import SyncKeystead


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'keystead.db'}"


@pytest.fixture
def sync_keystead(settings: Settings) -> Iterator[SyncKeystead]:
    """A blocking service for the WSGI and Django tests (wall clock)."""
    ks = SyncKeystead.open(settings=settings)
    try:
        yield ks
    finally:
        ks.close()
