"""The Vault face's ASGI app in-process: the contract a mount engine relies on
(``MOUNT_HANDLERS``), the last-resort 500 and the sealed answer, all Vault-style.
(The wire itself is proven against a real server in the other modules.)"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.core.secrets import KV_V2, SecretMount
from keystead.http.app import create_app
from keystead.http.vault import app as vault_app
from keystead.http.vault.wire import VaultError, VaultRequest, VaultResponse
from keystead.service import Keystead


@pytest.fixture
async def service(settings: Settings, clock: ManualClock) -> AsyncIterator[Keystead]:
    ks = await Keystead.open(settings=settings, clock=clock, create_master_key=True)
    try:
        yield ks
    finally:
        await ks.close()


async def _client(ks: Keystead) -> tuple[httpx.AsyncClient, str]:
    boot = await ks.workspaces.init()
    transport = httpx.ASGITransport(app=create_app(ks))
    client = httpx.AsyncClient(transport=transport, base_url="http://vault.test/vault")
    return client, boot.root_key.plaintext


async def test_a_mount_handler_gets_the_parsed_request(
    service: Keystead, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[VaultRequest, SecretMount, str]] = []

    async def engine(request: VaultRequest, mount: SecretMount, rest: str) -> VaultResponse:
        seen.append((request, mount, rest))
        if rest == "refuse":
            raise VaultError(400, ["no such thing"])
        return VaultResponse(data={"echo": request.body})

    monkeypatch.setitem(vault_app.MOUNT_HANDLERS, KV_V2, engine)
    client, token = await _client(service)
    async with client:
        answer = await client.request(
            "LIST", "/v1/secret/keys/a/", params={"x": "1"}, headers={"X-Vault-Token": token}
        )
        posted = await client.post(
            "/v1/secret/encrypt/k", json={"plaintext": "aGk="}, headers={"X-Vault-Token": token}
        )
        refused = await client.get("/v1/secret/refuse", headers={"X-Vault-Token": token})
    assert answer.status_code == 200
    request, mount, rest = seen[0]
    assert (request.method, rest, request.query) == ("LIST", "keys/a/", {"x": "1"})
    assert mount.name == "secret" and mount.kind == KV_V2
    assert request.service is service and request.principal.workspace_id == mount.workspace_id
    assert answer.json()["request_id"] == request.request_id
    assert posted.json()["data"] == {"echo": {"plaintext": "aGk="}}
    assert seen[1][0].method == "POST" and seen[1][2] == "encrypt/k"
    assert refused.status_code == 400 and refused.json() == {"errors": ["no such thing"]}


async def test_a_crash_is_a_vault_style_500(
    service: Keystead, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: VaultRequest, mount: SecretMount, rest: str) -> VaultResponse:
        raise RuntimeError("boom")

    monkeypatch.setitem(vault_app.MOUNT_HANDLERS, KV_V2, broken)
    client, token = await _client(service)
    with caplog.at_level(logging.ERROR, logger="keystead.http"):
        async with client:
            answer = await client.get("/v1/secret/data/x", headers={"X-Vault-Token": token})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"errors": ["internal error"]}
    assert "boom" not in answer.text
    assert any("unhandled error" in r.getMessage() for r in caplog.records)


async def test_without_a_running_service_it_answers_503(service: Keystead) -> None:
    app = create_app(service)
    app.state.keystead = None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://vault.test") as client:
        answer = await client.get("/vault/v1/secret/data/x", headers={"X-Vault-Token": "x"})
    assert answer.status_code == 503 and answer.json()["errors"]


async def test_keystead_routes_are_untouched(service: Keystead) -> None:
    client, token = await _client(service)
    async with client:
        own = await client.get(
            "http://vault.test/v1/root_keys", headers={"Authorization": f"Bearer {token}"}
        )
        near = await client.get("http://vault.test/vaultx/v1/sys/health")
    assert own.status_code == 200
    assert near.status_code == 404 and near.headers["content-type"] == "application/problem+json"
