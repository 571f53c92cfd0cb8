"""``GET /metrics``: Prometheus text with verification outcomes and latency,
the usage buffer, limiter and store errors; no root key, no key material."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from httpkit import World, assert_problem, open_world

from keystead.service import Keystead


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


def _value(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match is not None, f"{name} not in:\n{text}"
    return float(match.group(1))


async def test_metrics_count_outcomes_and_time_the_verify_route(world: World) -> None:
    api = await world.api("metered")
    key = (await world.key(api["id"]))["key"]
    for _ in range(3):
        assert (await world.verify(key))["code"] == "VALID"
    assert (await world.verify(key[:-1] + "A" if key[-1] != "A" else key[:-1] + "B"))["code"] in (
        "MALFORMED",
        "NOT_FOUND",
    )
    revoked = await world.key(api["id"])
    await world.client.post(f"/v1/keys/{revoked['id']}/revoke", headers=world.auth())
    assert (await world.verify(revoked["key"]))["code"] == "REVOKED"

    response = await world.client.get("/metrics")  # no root key needed
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert _value(text, 'keystead_verifications_total{outcome="VALID"}') == 3
    assert _value(text, 'keystead_verifications_total{outcome="REVOKED"}') == 1
    assert _value(text, 'keystead_verifications_total{outcome="EXPIRED"}') == 0
    assert _value(text, "keystead_verify_http_seconds_count") == 5
    assert _value(text, 'keystead_verify_http_seconds_bucket{le="+Inf"}') == 5
    assert _value(text, "keystead_verify_http_seconds_sum") > 0
    for gauge in (
        "keystead_usage_buffer_records",
        "keystead_usage_records_dropped_total",
        "keystead_usage_batches_failed_total",
        "keystead_usage_records_refused_total",
        "keystead_usage_writer_restarts_total",
        "keystead_export_records_dropped_total",
        "keystead_limiter_errors_total",
        "keystead_store_errors_total",
    ):
        assert _value(text, gauge) >= 0
    # counts and timings only: no key, id or workspace
    for secret in (key, revoked["key"], revoked["id"], api["id"], world.workspace_id):
        assert secret not in text


async def test_metrics_can_be_turned_off(keystead: Keystead) -> None:
    quiet = keystead.settings.model_copy(update={"metrics_enabled": False})
    keystead.settings = quiet
    async with open_world(keystead) as world:
        assert_problem(await world.client.get("/metrics"), 404)
