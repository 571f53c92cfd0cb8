"""The consumers and rotation calls of the async client against the HTTP app over a
real store with a master key (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from keystead.client import ApiError, AsyncClient
from keystead.http.app import create_app
from keystead.service import Keystead

from .conftest import BASE_URL

DAY = 86_400


@pytest.fixture
async def client(vault: Keystead) -> AsyncIterator[AsyncClient]:
    root_key = (await vault.workspaces.init()).root_key.plaintext
    transport = httpx.ASGITransport(app=create_app(vault))
    async with AsyncClient(BASE_URL, root_key, transport=transport) as ks:
        yield ks


async def test_consumers_and_policies_through_the_sdk(client: AsyncClient) -> None:
    ks = client
    await ks.put_secret("payments/stripe", {"api_key": "sk_1"})
    await ks.read_secret("payments/stripe")
    answer = await ks.secret_consumers("/payments/stripe/")
    assert [(i["version"], i["reads"], i["kind"]) for i in answer["items"]] == [(1, 1, "root_key")]
    assert (await ks.secret_consumers("payments/stripe", version=2))["items"] == []

    policy = await ks.set_secret_rotation(
        "payments/stripe", max_age=timedelta(days=90), warn_before=14 * DAY
    )
    assert (policy["max_age_s"], policy["warn_before_s"], policy["source"]) == (
        90 * DAY,
        14 * DAY,
        "secret",
    )
    assert (await ks.read_secret_rotation("payments/stripe")) == policy
    await ks.set_mount_rotation(max_age=30 * DAY)
    assert (await ks.read_mount_rotation())["max_age_s"] == 30 * DAY
    assert (await ks.clear_secret_rotation("payments/stripe"))["source"] == "mount"
    assert (await ks.clear_mount_rotation())["source"] is None


async def test_a_dot_segment_reaches_the_server_and_is_refused(client: AsyncClient) -> None:
    await client.put_secret("b", {"k": "v"})
    with pytest.raises(ApiError) as raised:
        await client.secret_consumers("a/../b")  # not resolved to "b" on the way
    assert raised.value.status == 422
    with pytest.raises(ValueError, match="whole number of seconds"):
        await client.set_secret_rotation("b", max_age=timedelta(seconds=1.5))
    with pytest.raises(ValueError, match="path is required"):
        await client.secret_consumers("/")
