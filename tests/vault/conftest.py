"""A real ``keystead serve`` for the Vault-face tests, on SQLite and on PostgreSQL
(one server per backend and module; each test works under paths of its own).

``Vault`` carries the server's Vault URL (``.../vault``), its first workspace's
root key, a root key of another workspace of the same store, and makes narrowed
root keys (``scoped``) through Keystead's own API."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import hvac
import pytest

from conftest import BACKENDS, backend_database
from keystead.config import Settings
from keystead.service import Keystead
from serving import Server, serving


@dataclass
class Vault:
    server: Server
    url: str
    root_key: str
    other_workspace_key: str

    def client(self, token: str | None = None) -> hvac.Client:
        return hvac.Client(url=self.url, token=self.root_key if token is None else token)

    def scoped(self, *permissions: str) -> str:
        """A new root key of the first workspace with only ``permissions``."""
        return create_root_key(self.server, permissions)


def create_root_key(server: Server, permissions: Sequence[str]) -> str:
    answer = httpx.post(
        f"{server.url}/v1/root_keys",
        json={"permissions": list(permissions)},
        headers={"Authorization": f"Bearer {server.root_key}"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["key"]
    server.revealed.append(key)
    return key


async def _new_workspace(database_url: str, home: Path) -> str:
    settings = Settings(
        _env_file=None, database_url=database_url, secret_file=home / "server.secret"
    )
    ks = await Keystead.open(settings=settings, create_secret=False)
    try:
        created = await ks.workspaces.create(f"other-{secrets.token_hex(4)}")
    finally:
        await ks.close()
    return created.root_key.plaintext


@pytest.fixture(scope="module", params=BACKENDS)
def vault(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Vault]:
    home = tmp_path_factory.mktemp("vault")
    with (
        backend_database(request.param, home) as database_url,
        serving(home, {"KEYSTEAD_DATABASE_URL": database_url}) as server,
    ):
        other = asyncio.run(_new_workspace(database_url, home))
        server.revealed.append(other)
        yield Vault(server, f"{server.url}/vault", server.root_key, other)
    log = server.log.read_text()
    assert "Traceback" not in log and "unhandled error" not in log, log[-4000:]
    for secret in server.revealed:
        assert secret not in log


@pytest.fixture
def name() -> str:
    """A path of this test's own under the shared server's ``secret`` mount."""
    return f"t{secrets.token_hex(6)}"
