"""The routes served before the router (``keystead.http.fastpath``) answer exactly as
their routed twins do: same status, body and headers, for good and bad requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpkit import BASE_URL, World, open_world
from starlette.routing import Route
from tokenkit import FORM, Client, client_of, exchange

from keystead.http.app import KeysteadAPI, create_app
from keystead.http.oauth import MAX_FORM_BYTES
from keystead.http.token_schemas import IssuedOut
from keystead.service import Keystead

Request = tuple[str, dict[str, Any]]
"""(path, httpx request arguments)."""

# answers that differ per call by design: a fresh token, jti and time
VARYING = {"token", "access_token", "jti", "expires_at", "iat", "exp", "nbf"}
COMPARED_HEADERS = ("content-type", "cache-control", "pragma", "www-authenticate", "allow")


@pytest.fixture
async def world(vault: Keystead) -> AsyncIterator[World]:
    async with open_world(vault) as opened:
        yield opened


@pytest.fixture
async def routed(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """The same service behind an app whose fast routes are switched off."""
    app = create_app(world.ks)
    assert isinstance(app, KeysteadAPI)
    app.fast_routes = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def _shape(response: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.content
    if isinstance(body, dict):
        body = {name: ("<varies>" if name in VARYING else value) for name, value in body.items()}
    answered = response.headers
    headers = {name: answered[name] for name in COMPARED_HEADERS if name in answered}
    return response.status_code, body, headers


async def _same(world: World, routed: httpx.AsyncClient, requests: list[Request]) -> None:
    for path, arguments in requests:
        fast = await world.client.post(path, **arguments)
        slow = await routed.post(path, **arguments)
        assert fast.status_code < 500, fast.text
        assert _shape(fast) == _shape(slow), (path, arguments)


def test_every_fast_route_has_a_routed_twin(world: World) -> None:
    """Each is documented in OpenAPI and served by the router when the table is empty."""
    app = create_app(world.ks)
    assert isinstance(app, KeysteadAPI)
    assert len(app.fast_routes) >= 5
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
    }
    assert set(app.fast_routes) <= served
    documented = app.openapi()["paths"]
    for method, path in app.fast_routes:
        assert method.lower() in documented[path], path


async def test_the_exchange_answers_alike(world: World, routed: httpx.AsyncClient) -> None:
    client = await client_of(world)
    json_type = {"Content-Type": "application/json"}
    await _same(
        world,
        routed,
        [
            ("/v1/tokens", {"headers": client.bearer()}),
            ("/v1/tokens", {"json": {}, "headers": {"X-API-Key": client.key}}),
            ("/v1/tokens", {"json": {"permissions": ["docs.read"]}, "headers": client.bearer()}),
            ("/v1/tokens", {"json": {"ttl_s": 60, "audience": client.api_id}, **_b(client)}),
            ("/v1/tokens", {"json": {"permissions": ["x.y"]}, "headers": client.bearer()}),
            ("/v1/tokens", {"json": {"ttl_s": 10**9}, "headers": client.bearer()}),
            ("/v1/tokens", {"json": {"extra": 1}, "headers": client.bearer()}),
            ("/v1/tokens", {"content": b"{", "headers": {**client.bearer(), **json_type}}),
            ("/v1/tokens", {"content": b"x", "headers": {**client.bearer(), **FORM}}),
            ("/v1/tokens", {"json": {}}),
            ("/v1/tokens", {"json": {}, "headers": {"Authorization": f"Bearer {client.key}x"}}),
            ("/v1/tokens", {"json": {}, "headers": world.auth()}),
        ],
    )


def _b(client: Client) -> dict[str, Any]:
    return {"headers": client.bearer()}


async def test_the_fast_exchange_body_is_the_documented_model(
    world: World, client_and_token: tuple[Client, dict[str, Any]]
) -> None:
    _, issued = client_and_token
    assert IssuedOut.model_validate(issued).model_dump(mode="json") == issued


@pytest.fixture
async def client_and_token(world: World) -> tuple[Client, dict[str, Any]]:
    client = await client_of(world)
    return client, await exchange(world, client)


async def test_the_oauth_endpoints_answer_alike(
    world: World, routed: httpx.AsyncClient, client_and_token: tuple[Client, dict[str, Any]]
) -> None:
    client, issued = client_and_token
    token = issued["token"]
    grant = {"grant_type": "client_credentials"}
    oversized = {"grant_type": "client_credentials", "scope": "a" * MAX_FORM_BYTES}
    await _same(
        world,
        routed,
        [
            ("/oauth/token", {"data": grant, "headers": client.basic()}),
            ("/oauth/token", {"data": {**grant, "scope": "docs.read"}, "headers": client.basic()}),
            ("/oauth/token", {"data": {**grant, "scope": "x.y"}, "headers": client.basic()}),
            ("/oauth/token", {"data": {"grant_type": "password"}, "headers": client.basic()}),
            ("/oauth/token", {"data": grant}),
            ("/oauth/token", {"data": grant, "headers": client.basic(secret="wrong")}),
            ("/oauth/token", {"json": grant, "headers": client.basic()}),
            ("/oauth/token", {"data": oversized, "headers": client.basic()}),
            ("/oauth/token", {"content": b"a=1&a=2", "headers": {**FORM, **client.basic()}}),
            ("/oauth/introspect", {"data": {"token": token}, "headers": world.auth()}),
            ("/oauth/introspect", {"data": {"token": "garbage"}, "headers": world.auth()}),
            ("/oauth/introspect", {"data": {"token": token}, "headers": client.basic()}),
            ("/oauth/introspect", {"data": {"token": token}}),
            ("/oauth/introspect", {"data": {}, "headers": world.auth()}),
            ("/oauth/introspect", {"data": {"token": token}, "headers": world.auth("ksroot_x")}),
            ("/oauth/revoke", {"data": {"token": "garbage"}, "headers": client.basic()}),
            ("/oauth/revoke", {"data": {"token": token}}),
            ("/oauth/revoke", {"data": {}, "headers": client.basic()}),
        ],
    )
