"""A guard's (or a gateway route's) extra ``ratelimits`` count for access
tokens too, on the counters of the token's key: a key and its tokens share one
budget, and a token refused by it gets the 429 a key gets."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from conftest import LIMITERS, REDIS_ENV, drop_workspace_counters
from gateway.gatewaykit import assert_problem, config_of, route, site
from gateway.upstreams import echo, serving
from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.core.models import VerifyContext
from keystead.integrations.embedded import Embedded, SyncEmbedded
from keystead.integrations.remote import Remote, SyncRemote
from keystead.service import Keystead
from keystead.service.tokens import Issued, TokenRequest
from keystead.sync import SyncKeystead

from .kit import assert_refused, same_answer, serve_asgi, serve_wsgi
from .tokenkit import bearer, fastapi_app, flask_app

APP_LIMIT: list[dict[str, Any]] = [{"name": "app", "limit": 3, "duration_s": 60}]
LIMIT_HEADERS = ("ratelimit", "ratelimit-policy", "retry-after")


async def key_and_token(ks: Keystead) -> tuple[str, str]:
    admin = await ks.workspaces.local_operator()
    api = await ks.apis.create(admin, name="docs", prefix="docs")
    created = await ks.keys.create(admin, api_id=api.id, permissions=["reports.read"])
    issued = await ks.tokens.exchange(created.plaintext, VerifyContext(), TokenRequest())
    assert isinstance(issued, Issued), issued
    return created.plaintext, issued.token


def limit_headers(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in LIMIT_HEADERS if name in response.headers}


@pytest.fixture(params=LIMITERS)
async def limited_vault(
    request: pytest.FixtureRequest, settings: Settings, clock: ManualClock
) -> AsyncIterator[Keystead]:
    """A service with a master key whose limiter is memory:// or the real Redis."""
    url = "memory://" if request.param == "memory" else os.environ[REDIS_ENV]
    tuned = settings.model_copy(update={"limits_url": url})
    ks = await Keystead.open(settings=tuned, clock=clock, create_master_key=True)
    try:
        yield ks
    finally:
        workspaces = [w.id for w in await ks.workspaces.list()]
        await ks.close()
        if request.param == "redis":
            drop_workspace_counters(workspaces)


async def test_a_key_and_its_token_share_the_guards_budget(limited_vault: Keystead) -> None:
    vault = limited_vault
    key, token = await key_and_token(vault)
    async with serve_asgi(fastapi_app(Embedded(vault, ratelimits=APP_LIMIT))) as app:
        served = [await app.get("/whoami", headers=bearer(c)) for c in (key, token, key)]
        token_refused = await app.get("/whoami", headers=bearer(token))
        key_refused = await app.get("/whoami", headers=bearer(key))
    assert [r.status_code for r in served] == [200, 200, 200]
    by_key, by_token = limit_headers(served[0]), limit_headers(served[1])
    assert by_key.keys() == by_token.keys() == {"ratelimit", "ratelimit-policy"}
    assert by_token["ratelimit-policy"] == by_key["ratelimit-policy"]
    assert by_token["ratelimit"].startswith('"app";r=1')  # the key's first request counted
    body = assert_refused(token_refused, 429)
    assert body["code"] == "RATE_LIMITED" and "'app'" in body["detail"]
    same_answer(token_refused, key_refused)  # status, headers (RateLimit, Retry-After), body


async def test_a_guard_without_ratelimits_counts_nothing_for_tokens(vault: Keystead) -> None:
    _, token = await key_and_token(vault)
    async with serve_asgi(fastapi_app(Embedded(vault))) as app:
        answers = [await app.get("/whoami", headers=bearer(token)) for _ in range(5)]
    assert [r.status_code for r in answers] == [200] * 5
    assert all(not limit_headers(r) for r in answers)


async def test_a_route_cost_is_spent_by_tokens_too(vault: Keystead) -> None:
    key, token = await key_and_token(vault)
    guard = Embedded(vault, ratelimits=APP_LIMIT)
    context = VerifyContext()
    assert (await guard.check(token, context, cost=2)).identity is not None
    check = await guard.check(key, context)
    assert check.identity is not None
    assert check.answer is None
    refused = await guard.check(token, context)
    assert refused.answer is not None and refused.answer[0] == 429


@pytest.fixture
def sync_vault(settings: Settings, clock: ManualClock) -> Iterator[SyncKeystead]:
    ks = SyncKeystead.open(settings=settings, clock=clock, create_master_key=True)
    try:
        yield ks
    finally:
        ks.close()


def test_flask_counts_the_guards_ratelimits_for_tokens(sync_vault: SyncKeystead) -> None:
    key, token = asyncio.run_coroutine_threadsafe(
        key_and_token(sync_vault.service), sync_vault.loop
    ).result()
    guard = SyncEmbedded(sync_vault, ratelimits=APP_LIMIT)
    with serve_wsgi(flask_app(guard)) as app:
        served = [app.get("/whoami", headers=bearer(c)) for c in (token, key, token)]
        token_refused = app.get("/whoami", headers=bearer(token))
        key_refused = app.get("/whoami", headers=bearer(key))
    guard.close()
    assert [r.status_code for r in served] == [200, 200, 200]
    assert limit_headers(served[0]).keys() == {"ratelimit", "ratelimit-policy"}
    assert_refused(token_refused, 429)
    same_answer(token_refused, key_refused)


async def test_the_gateway_counts_a_routes_ratelimits_for_tokens(vault: Keystead) -> None:
    limits = [{"name": "gateway", "limit": 2, "duration_s": 60}]
    async with serving(echo) as up:
        async with site(vault, config_of([route(up.url, ratelimits=limits)])) as s:
            key, _ = await s.key()
            issued = await vault.tokens.exchange(key, VerifyContext(), TokenRequest())
            assert isinstance(issued, Issued), issued
            by_token = await s.client.get("/doc", headers=bearer(issued.token))
            by_key = await s.client.get("/doc", headers=bearer(key))
            token_refused = await s.client.get("/doc", headers=bearer(issued.token))
            key_refused = await s.client.get("/doc", headers=bearer(key))
    assert by_token.status_code == by_key.status_code == 200, by_token.text
    assert by_token.headers["ratelimit-policy"] == by_key.headers["ratelimit-policy"]
    assert by_token.headers["ratelimit"].startswith('"gateway";r=1')
    assert by_key.headers["ratelimit"].startswith('"gateway";r=0')
    assert assert_problem(token_refused, 429)["code"] == "RATE_LIMITED"
    same_answer(token_refused, key_refused)
    assert len(up.seen) == 2


def test_a_remote_guard_warns_that_tokens_do_not_count_its_ratelimits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    options: dict[str, Any] = {"url": "http://127.0.0.1:9", "root_key": "ks_root_unused"}
    with caplog.at_level(logging.WARNING, logger="keystead.integrations"):
        quiet = [
            SyncRemote(**options),
            SyncRemote(**options, ratelimits=APP_LIMIT, tokens=False),
        ]
        assert not caplog.records
        loud = SyncRemote(**options, ratelimits=APP_LIMIT)
    for guard in (*quiet, loud):
        guard.close()
    [record] = caplog.records
    message = record.getMessage()
    assert "ratelimits" in message and "embedded mode" in message and "tokens=False" in message


async def test_an_async_remote_guard_warns_too(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="keystead.integrations"):
        guard = Remote(url="http://127.0.0.1:9", root_key="ks_root_unused", ratelimits=APP_LIMIT)
    await guard.close()
    assert len(caplog.records) == 1
