"""The exposure analysis and ``after_leak`` over HTTP, through the SDK as a
user calls them: ``POST /v1/incidents/{id}/exposure`` and the analytics filter,
with clear problems for bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from alert_support import add_usage

from keystead.client import ApiError, AsyncClient
from keystead.core.authz import Principal
from keystead.core.clock import ManualClock
from keystead.http.app import create_app
from keystead.service import Keystead

BASE_URL = "http://keystead.test"
HOUR = 3600.0


@pytest.fixture
async def client(keystead: Keystead, admin: Principal) -> AsyncIterator[AsyncClient]:
    created = await keystead.root_keys.create(admin, name="responder")
    transport = httpx.ASGITransport(app=create_app(keystead))
    async with AsyncClient(BASE_URL, created.plaintext, transport=transport) as found:
        yield found


async def test_reassess_over_http_labels_the_incident(
    client: AsyncClient, keystead: Keystead, admin: Principal, clock: ManualClock
) -> None:
    api = await client.create_api("payments", prefix="pay")
    key = await client.create_key(api["id"])
    for hour in range(2, 26):
        await add_usage(
            keystead, admin, clock.now() - hour * HOUR, 2, key_id=key["id"], ip="10.0.0.1"
        )
    await add_usage(keystead, admin, clock.now() - 600, 1, key_id=key["id"], ip="192.0.2.77")
    await keystead.flush()
    done = await client.compromise_key(key["id"], reason="pasted in a public gist")

    incident = await client.reassess_exposure(done["incident_id"], leaked_at="2025-06-15T14:00:00Z")

    exposure = incident["evidence"]["exposure"]
    assert (exposure["label"], exposure["reasons"]) == ("abused", ["new_ip_range"])
    assert exposure["new"]["ip_ranges"]["values"][0]["value"] == "192.0.2.0/24"
    shown = await client.get_incident(done["incident_id"])
    assert shown["evidence"]["exposure"] == exposure


async def test_bad_input_is_a_clear_problem(
    client: AsyncClient, keystead: Keystead, admin: Principal
) -> None:
    api = await client.create_api("payments", prefix="pay")
    key = await client.create_key(api["id"])
    done = await client.compromise_key(key["id"])

    with pytest.raises(ApiError) as unknown_time:
        await client.reassess_exposure(done["incident_id"])
    with pytest.raises(ApiError) as bad_time:
        await client.reassess_exposure(done["incident_id"], leaked_at="last tuesday")
    with pytest.raises(ApiError) as no_leak:
        await client.usage_series(key_id=key["id"], after_leak=True)
    with pytest.raises(ApiError) as missing:
        await client.reassess_exposure("inc_0000000000AAAAAAAAAAAAAAAA")

    assert unknown_time.value.status == 422 and "leaked_at" in str(unknown_time.value)
    assert bad_time.value.status == 422
    assert no_leak.value.status == 422 and "no leak" in str(no_leak.value)
    assert missing.value.status == 404
