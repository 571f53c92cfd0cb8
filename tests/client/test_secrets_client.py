"""The secrets calls of both clients against the HTTP app over a real store with a
master key (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from keystead.client import ApiError, AsyncClient
from keystead.http.app import create_app
from keystead.service import Keystead

from .conftest import BASE_URL


@pytest.fixture
async def client(vault: Keystead) -> AsyncIterator[AsyncClient]:
    root_key = (await vault.workspaces.init()).root_key.plaintext
    transport = httpx.ASGITransport(app=create_app(vault))
    async with AsyncClient(BASE_URL, root_key, transport=transport) as ks:
        yield ks


async def _status(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ApiError) as raised:
        await call
    return raised.value.status, raised.value.body or {}


async def test_every_secrets_call(client: AsyncClient) -> None:
    ks = client
    written = await ks.put_secret("payments/stripe", {"api_key": "sk_1"}, cas=0)
    assert written["metadata"]["version"] == 1
    read = await ks.read_secret("payments/stripe")
    assert read["data"] == {"api_key": "sk_1"}
    await ks.patch_secret("payments/stripe", {"region": "eu"})
    assert (await ks.read_secret("payments/stripe"))["data"] == {"api_key": "sk_1", "region": "eu"}
    assert (await ks.read_secret("payments/stripe", version=1))["data"] == {"api_key": "sk_1"}
    assert (await ks.secret_subkeys("payments/stripe", depth=1))["subkeys"] == {
        "api_key": None,
        "region": None,
    }
    assert await ks.list_secrets() == ["payments/"]
    assert await ks.list_secrets("payments/") == ["stripe"]

    deleted = await ks.delete_secret("payments/stripe")
    assert deleted["versions"][1]["deletion_time"] is not None
    status, body = await _status(ks.read_secret("payments/stripe"))
    assert (status, body["state"], body["metadata"]["version"]) == (404, "deleted", 2)
    await ks.undelete_secret("payments/stripe", [2])
    await ks.delete_secret("payments/stripe", versions=[1])
    await ks.destroy_secret("payments/stripe", [1])
    status, body = await _status(ks.rollback_secret("payments/stripe", 1))
    assert (status, body["state"]) == (404, "destroyed")
    rolled = await ks.rollback_secret("payments/stripe", 2, cas=2)
    assert rolled["metadata"]["version"] == 3

    meta = await ks.update_secret_metadata(
        "payments/stripe", max_versions=5, custom_metadata={"team": "pay"}
    )
    assert (meta["max_versions"], meta["custom_metadata"]) == (5, {"team": "pay"})
    assert (await ks.read_secret_metadata("payments/stripe"))["current_version"] == 3
    await ks.delete_secret_metadata("payments/stripe")
    assert (await _status(ks.read_secret_metadata("payments/stripe")))[0] == 404

    mounts = await ks.list_secret_mounts()
    assert [m["name"] for m in mounts] == ["secret"]
    made = await ks.enable_secret_mount("team-a", max_versions=2)
    assert made["config"]["max_versions"] == 2
    changed = await ks.configure_secret_mount("team-a", cas_required=True)
    assert changed["config"]["cas_required"] is True
    assert (await ks.get_secret_mount("team-a"))["config"]["cas_required"] is True
    await ks.put_secret("x", {"k": "v"}, mount="team-a", cas=0)
    assert (await ks.read_secret("x", mount="team-a"))["data"] == {"k": "v"}


@pytest.mark.parametrize(
    "path", ["payments/../admin", "payments/..", "./admin", "a//b", "a/%2e%2e/b", "a\x00b"]
)
async def test_a_crafted_path_is_refused_not_resolved(client: AsyncClient, path: str) -> None:
    await client.put_secret("admin", {"k": "v"})
    status, body = await _status(client.read_secret(path))
    assert (status, body.get("field")) == (422, "path")
    with pytest.raises(ValueError, match="path"):
        await client.read_secret("")
