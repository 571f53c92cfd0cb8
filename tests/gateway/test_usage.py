"""Usage records carry the upstream's answer; route limits and concurrency leases."""

from __future__ import annotations

from keystead.core.usage import UsageRecord
from keystead.service import Keystead

from .gatewaykit import Site, assert_problem, config_of, route, site
from .upstreams import echo, serving, silent, status_echo


async def _records(s: Site, key_id: str) -> list[UsageRecord]:
    await s.ks.flush()
    return list(reversed(await s.ks.usage.records(s.operator, key_id=key_id)))


async def test_usage_is_recorded_with_the_upstreams_status(keystead: Keystead) -> None:
    async with serving(status_echo(418)) as up:
        config = config_of([route(up.url, permissions="teapot.brew")])
        async with site(keystead, config) as s:
            key, key_id = await s.key(permissions=["teapot.brew"])
            answer = await s.client.post(
                "/brew?strength=9", content=b"earl grey", headers={"x-api-key": key}
            )
            records = await _records(s, key_id)

    assert answer.status_code == 418
    assert len(records) == 1
    record = records[0]
    assert (record.code, record.status, record.method, record.path) == (
        "VALID",
        418,
        "POST",
        "/brew",
    )
    assert (record.bytes_in, record.bytes_out) == (9, len(b"answered"))
    assert record.response_ms is not None and record.response_ms > 0
    assert record.ip == "127.0.0.1"


async def test_refusals_and_upstream_failures_are_recorded_with_their_status(
    keystead: Keystead,
) -> None:
    async with serving(silent) as up:
        config = config_of(
            [{"upstream": {"url": up.url, "timeout_s": 0.2}, "permissions": "orders.read"}]
        )
        async with site(keystead, config) as s:
            key, key_id = await s.key(permissions=["orders.read"])
            other, other_id = await s.key(permissions=["orders.write"])
            timed_out = await s.client.get("/orders", headers={"x-api-key": key})
            refused = await s.client.get("/orders", headers={"x-api-key": other})
            served = await _records(s, key_id)
            denied = await _records(s, other_id)

    assert_problem(timed_out, 504)
    assert_problem(refused, 403)
    assert [(r.code, r.status) for r in served] == [("VALID", 504)]
    assert [(r.code, r.status) for r in denied] == [("INSUFFICIENT_PERMISSIONS", 403)]


async def test_route_limits_give_429_with_ratelimit_headers(keystead: Keystead) -> None:
    async with serving(echo) as up:
        config = config_of(
            [route(up.url, ratelimits=[{"name": "gateway", "limit": 2, "duration_s": 60}])]
        )
        async with site(keystead, config) as s:
            key, key_id = await s.key()
            other, _ = await s.key()
            headers = {"authorization": f"Bearer {key}"}
            answers = [await s.client.get("/", headers=headers) for _ in range(3)]
            fresh = await s.client.get("/", headers={"authorization": f"Bearer {other}"})
            records = await _records(s, key_id)

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["ratelimit-policy"] == '"gateway";q=2;w=60'
    assert answers[0].headers["ratelimit"].startswith('"gateway";r=1;t=')
    assert answers[1].headers["ratelimit"].startswith('"gateway";r=0;t=')
    refused = assert_problem(answers[2], 429)
    assert refused["code"] == "RATE_LIMITED"
    assert "gateway" in refused["detail"]
    assert answers[2].headers["ratelimit-policy"] == '"gateway";q=2;w=60'
    assert int(answers[2].headers["retry-after"]) >= 1
    assert fresh.status_code == 200  # counted per key
    assert len(up.seen) == 3
    assert [r.status for r in records] == [200, 200, 429]


async def test_concurrency_leases_are_given_back_after_each_request(keystead: Keystead) -> None:
    async with serving(echo) as up, site(keystead, config_of([route(up.url)])) as s:
        key, _ = await s.key(concurrency={"limit": 1, "lease_s": 600})
        statuses = [
            (await s.client.get("/", headers={"x-api-key": key})).status_code for _ in range(3)
        ]

    assert statuses == [200, 200, 200]
