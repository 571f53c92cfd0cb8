"""Support for the HTTP tests: an app over the ``keystead`` fixture, an in-process
client, and small helpers. (A module, not a conftest: ``tests/http`` must not be a
package, it would shadow the standard library's ``http``.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from keystead.config import Settings
from keystead.core.authz import ROOT_PERMISSIONS, Principal
from keystead.core.clock import ManualClock
from keystead.http import create_app
from keystead.service import Keystead

BASE_URL = "http://keystead.test"
PROBLEM_JSON = "application/problem+json"
# routes that need no root key: documentation and liveness
PUBLIC_PATHS = frozenset(
    {
        *("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/healthz", "/metrics"),
        "/v1/leaks/github",  # signed by GitHub, no root key: tests/http/test_leaks_github.py
        # an API key's, or anyone's: tests/http/test_http_tokens.py, test_oauth.py
        *("/v1/tokens", "/oauth/token", "/oauth/introspect", "/oauth/revoke"),
        *("/.well-known/jwks.json", "/apis/{api_id}/.well-known/jwks.json"),
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/apis/{api_id}",
        "/apis/{api_id}/.well-known/oauth-authorization-server",
        "/apis/{api_id}/.well-known/revocations.jwt",
    }
)


@dataclass
class World:
    """One workspace with an all-powerful root key, served over HTTP in-process."""

    ks: Keystead
    app: FastAPI
    client: httpx.AsyncClient
    root_key: str
    workspace_id: str
    operator: Principal

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.root_key}"}

    async def root_key_with(
        self, permissions: Sequence[str], api_ids: Sequence[str] | None = None
    ) -> str:
        created = await self.ks.root_keys.create(
            self.operator, name="narrow", permissions=permissions, api_ids=api_ids
        )
        return created.plaintext

    async def root_key_without(self, permission: str) -> str:
        return await self.root_key_with([p for p in ROOT_PERMISSIONS if p != permission])

    async def api(self, name: str = "docs", **fields: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/apis", json={"name": name, **fields}, headers=self.auth()
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def key(self, api_id: str, **fields: Any) -> dict[str, Any]:
        """A new key (the creation answer, ``key`` included)."""
        response = await self.client.post(
            "/v1/keys", json={"api_id": api_id, **fields}, headers=self.auth()
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def verify(self, key: str, **context: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/keys/verify", json={"key": key, **context}, headers=self.auth()
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        body: dict[str, Any] = response.json()
        return body


ResponseHook = Callable[[httpx.Response], Awaitable[None]]


@asynccontextmanager
async def open_world(
    ks: Keystead, *, on_response: ResponseHook | None = None
) -> AsyncIterator[World]:
    """Take the first workspace (created if need be), give it a root key with every
    permission, and serve ``ks`` over HTTP; ``on_response`` sees every answer."""
    operator = await ks.workspaces.local_operator()
    created = await ks.root_keys.create(operator, name="test root")
    app = create_app(ks)
    transport = httpx.ASGITransport(app=app)
    hooks = {"response": [on_response]} if on_response else {}
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, event_hooks=hooks
    ) as client:
        yield World(ks, app, client, created.plaintext, operator.workspace_id, operator)


@asynccontextmanager
async def tuned_world(
    settings: Settings, clock: ManualClock, **update: Any
) -> AsyncIterator[World]:
    """A world on a service of its own, opened with ``update`` over ``settings``
    and closed after."""
    ks = await Keystead.open(settings=settings.model_copy(update=update), clock=clock)
    try:
        async with open_world(ks) as world:
            yield world
    finally:
        await ks.close()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 answer with this status and a useful detail; returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON, response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and len(body["detail"]) >= 8
    assert "Traceback" not in response.text
    return body


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def management_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves that needs a root key; paths as OpenAPI
    writes them (``{owner_id}``, not ``{owner_id:path}``)."""
    out: set[tuple[str, str]] = set()
    for route in app.routes:
        if not isinstance(route, APIRoute) or route.path in PUBLIC_PATHS:
            continue
        for method in route.methods or ():
            out.add((method, route.path_format))
    return out


__all__ = [
    "BASE_URL",
    "PROBLEM_JSON",
    "PUBLIC_PATHS",
    "World",
    "assert_problem",
    "iso",
    "management_routes",
    "open_world",
    "tuned_world",
]
