"""The end-to-end flow: a FastAPI app protected by Keystead's middleware gets
200 with a token; the token's key is then revoked through another node on the
same PostgreSQL, and the app's next call is 401 within 1 s. Once in embedded
mode (the revocation reaches the app's service through the invalidation
channel) and once in remote mode (through the signed revocation document)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import backend_database
from keystead.client import AsyncClient, AsyncTokenVerifier, Client
from keystead.config import Settings
from keystead.integrations.embedded import Embedded
from keystead.integrations.remote import Remote
from keystead.service import Keystead
from serving import Server, serving

from .kit import serve_asgi
from .tokenkit import DEADLINE_S, bearer, exchange, fastapi_app

pytestmark = pytest.mark.postgres


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Server]:
    """``keystead serve`` on a fresh PostgreSQL schema (skipped without one)."""
    with backend_database("postgres", tmp_path) as url:
        with serving(tmp_path, {"KEYSTEAD_DATABASE_URL": url}) as server:
            server.revealed.append(url)
            yield server


def node_settings(node: Server, tmp_path: Path) -> Settings:
    """Settings of another node of the same deployment: the database, the
    server secret and the master key of ``node``."""
    url = next(item for item in node.revealed if item.startswith("postgresql"))
    return Settings(_env_file=None, database_url=url, secret_file=tmp_path / "server.secret")


def key_with_token(node: Server, *, oauth: bool = False) -> tuple[str, str]:
    """(key id, token) of a new key, the token exchanged through ``node``
    (``POST /v1/tokens``, or OAuth client credentials with ``oauth``)."""
    with Client(node.url, node.root_key) as client:
        api = client.create_api("docs", prefix="docs")
        created = client.create_key(api["id"], owner_id="acme", permissions=["reports.read"])
    if not oauth:
        return created["id"], exchange(node.url, created["key"])
    answer = httpx.post(
        f"{node.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(created["id"], created["key"]),
    )
    assert answer.status_code == 200, answer.text
    return created["id"], answer.json()["access_token"]


async def first_refusal(app: httpx.AsyncClient, token: str) -> tuple[int, float]:
    """Call the app until it refuses the token or ``DEADLINE_S`` passes: the
    last status and the seconds since the revocation."""
    started = time.monotonic()
    while True:
        status = (await app.get("/whoami", headers=bearer(token))).status_code
        elapsed = time.monotonic() - started
        if status != 200 or elapsed > DEADLINE_S:
            return status, elapsed
        await asyncio.sleep(0.01)


async def test_embedded_mode_loses_a_revoked_keys_token_within_a_second(
    node: Server, tmp_path: Path
) -> None:
    key_id, token = key_with_token(node)
    app_service = await Keystead.open(settings=node_settings(node, tmp_path))
    try:
        async with serve_asgi(fastapi_app(Embedded(app_service))) as app:
            served = await app.get("/whoami", headers=bearer(token))
            assert served.status_code == 200, served.text
            assert served.json()["identity"]["key_id"] == key_id
            with Client(node.url, node.root_key) as other_node:
                other_node.revoke_key(key_id)
            status, elapsed = await first_refusal(app, token)
            assert status == 401, f"still {status} {elapsed:.2f} s after the revocation"
    finally:
        await app_service.close()


async def test_remote_mode_loses_a_revoked_keys_token_within_a_second(
    node: Server, tmp_path: Path
) -> None:
    """The app asks ``node`` for documents; the key is revoked through another
    service on the same database. The bound is ``refresh_s`` plus a request:
    0.5 s here. The token comes from OAuth client credentials."""
    key_id, token = key_with_token(node, oauth=True)
    other_node = await Keystead.open(settings=node_settings(node, tmp_path))
    try:
        async with AsyncClient(node.url, node.root_key) as client:
            verifier = AsyncTokenVerifier(client, refresh_s=0.5)
            guard = Remote(client, token_verifier=verifier)
            async with serve_asgi(fastapi_app(guard)) as app:
                served = await app.get("/whoami", headers=bearer(token))
                assert served.status_code == 200, served.text
                admin = await other_node.workspaces.local_operator()
                await other_node.keys.revoke(admin, key_id)
                status, elapsed = await first_refusal(app, token)
                assert status == 401, f"still {status} {elapsed:.2f} s after the revocation"
            await verifier.aclose()
    finally:
        await other_node.close()
