"""A real ``keystead serve`` for the token tests, on SQLite and on PostgreSQL (one
deployment per backend and module; each test makes its own APIs and keys)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import BACKENDS, backend_database

from .kit import MODES, Deployment, deploy, guard_for, protected_app, serve_app


@pytest.fixture(scope="module", params=BACKENDS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("tokens")
    with backend_database(request.param, home) as database_url, deploy(home, database_url) as d:
        yield d


@pytest.fixture(autouse=True)
def plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """The servers listen on loopback without TLS: tell the OAuth clients that
    this is meant (both refuse ``http://`` otherwise, as they should)."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture(scope="module", params=MODES)
def resource(request: pytest.FixtureRequest, deployment: Deployment) -> Iterator[str]:
    """The URL of a FastAPI app protected by Keystead's middleware (``/documents``,
    ``documents.read``), verifying against ``deployment`` in each mode."""
    with serve_app(protected_app(guard_for(request.param, deployment))) as url:
        yield url
