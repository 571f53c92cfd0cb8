"""Load shedding: the app feeds the service's in-flight count from its outermost layer,
verify included, and only when the service sheds on requests in flight."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from httpkit import BASE_URL, World, open_world
from starlette.types import Message

from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.http import create_app, ratelimit_headers
from keystead.http.app import KeysteadAPI
from keystead.service import Keystead


@pytest.fixture
async def shedding(settings: Settings, clock: ManualClock) -> AsyncIterator[World]:
    """A service that sheds low tiers from one request in flight: every request counts
    itself, so a low-tier key with limits is always shed."""
    tuned = settings.model_copy(update={"shed_max_inflight": 1})
    ks = await Keystead.open(settings=tuned, clock=clock)
    try:
        async with open_world(ks) as world:
            yield world
    finally:
        await ks.close()


async def _inflight_seen(app: Any, path: str, body: bytes, root_key: str) -> tuple[int, int]:
    """Call the app as a server would; returns (in-flight count while it read the
    body, response status)."""
    ks = app.state.keystead
    seen: list[int] = []
    status: list[int] = []

    async def receive() -> Message:
        seen.append(ks.shedder.inflight)
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "server": ("test", 80), "client": ("127.0.0.1", 1),
        "headers": [(b"authorization", f"Bearer {root_key}".encode()),
                    (b"content-type", b"application/json")],
    }  # fmt: skip
    await app(scope, receive, send)
    return seen[0], status[0]


async def test_every_request_is_counted_in_flight(shedding: World) -> None:
    world = shedding
    app = world.app
    assert isinstance(app, KeysteadAPI) and app.inflight is world.ks.shedder
    api = await world.api()
    key = (await world.key(api["id"]))["key"]
    body = orjson.dumps({"key": key})
    assert await _inflight_seen(app, "/v1/keys/verify", body, world.root_key) == (1, 200)
    assert await _inflight_seen(app, "/v1/apis", b'{"name": "x"}', world.root_key) == (1, 201)
    assert await _inflight_seen(app, "/v1/keys/verify", b"{", world.root_key) == (1, 400)
    assert world.ks.shedder.inflight == 0  # left again, errors included


async def test_low_tiers_are_shed_high_tiers_served(shedding: World) -> None:
    world = shedding
    c, h = world.client, world.auth()
    api = await world.api()
    limited = {"ratelimits": [{"name": "rps", "limit": 100, "duration_s": 1}]}
    low = (await world.key(api["id"], **limited))["key"]
    shed = await world.verify(low)  # still HTTP 200: a verification result
    assert (shed["valid"], shed["code"], shed["reason"]) == (False, "RATE_LIMITED", "overloaded")
    assert shed["shed"] is True and shed["retry_after"] == 1.0
    gold = (await c.post("/v1/plans", json={"name": "gold", "priority": 100}, headers=h)).json()
    high = (await world.key(api["id"], plan_id=gold["id"], **limited))["key"]
    assert (await world.verify(high))["valid"]
    unlimited = (await world.key(api["id"]))["key"]
    assert (await world.verify(unlimited))["reason"] == "overloaded"  # no plan: priority 0
    verdict = await world.ks.verify(low)  # no HTTP request in flight: not shed
    assert verdict.valid
    world.ks.shedder.enter()
    try:
        verdict = await world.ks.verify(low)
    finally:
        world.ks.shedder.leave()
    assert ratelimit_headers(verdict) == (503, [("Retry-After", "1")])


async def test_nothing_is_counted_without_shedding(keystead: Keystead) -> None:
    assert not keystead.shedder.enabled
    async with open_world(keystead) as world:
        app = world.app
        assert isinstance(app, KeysteadAPI) and app.inflight is None
        body = orjson.dumps({"key": "nope"})
        assert await _inflight_seen(app, "/v1/keys/verify", body, world.root_key) == (0, 200)


async def test_a_service_opened_by_the_lifespan_is_counted(settings: Settings) -> None:
    tuned = settings.model_copy(update={"shed_max_inflight": 10})
    app = create_app(settings=tuned)
    assert isinstance(app, KeysteadAPI) and app.inflight is None
    async with app.router.lifespan_context(app):
        assert app.inflight is app.state.keystead.shedder
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            assert (await client.get("/healthz")).status_code == 200
    assert app.inflight is None
