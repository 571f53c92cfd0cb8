"""The gateway served for real: uvicorn (httptools) on a free loopback port, in
the test's event loop, over the test's ``Keystead``; plus key and config helpers."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
import yaml
from starlette.types import ASGIApp

from keystead.core.authz import Principal
from keystead.gateway import Gateway, GatewayConfig, parse_config
from keystead.service import Keystead

PROBLEM_JSON = "application/problem+json"


@asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[str]:
    """Serve ``app`` like ``keystead gateway`` does; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        http="httptools",
        ws="none",
        server_header=False,
        date_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise AssertionError("the server stopped while starting")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def config_of(routes: list[Mapping[str, Any]], **top: Any) -> GatewayConfig:
    """A configuration written as YAML and read back by the real parser."""
    return parse_config(yaml.safe_dump({"routes": routes, **top}))


def route(upstream: str, **fields: Any) -> dict[str, Any]:
    return {"upstream": {"url": upstream, "timeout_s": 5, "connect_timeout_s": 2}, **fields}


@dataclass
class Site:
    """A running gateway, its service, and an HTTP client of it."""

    url: str
    ks: Keystead
    operator: Principal
    api_id: str
    client: httpx.AsyncClient
    gateway: Gateway

    async def key(self, **fields: Any) -> tuple[str, str]:
        """A new key of the test API: (plaintext, key id)."""
        created = await self.ks.keys.create(self.operator, api_id=self.api_id, **fields)
        return created.plaintext, created.key.id


@asynccontextmanager
async def site(ks: Keystead, config: GatewayConfig, **options: Any) -> AsyncIterator[Site]:
    operator = await ks.workspaces.local_operator()
    api = await ks.apis.create(operator, name=f"gateway-tests-{secrets.token_hex(4)}")
    gateway = Gateway(config, keystead=ks, **options)
    async with served(gateway) as url, httpx.AsyncClient(base_url=url, timeout=10) as client:
        yield Site(url, ks, operator, api.id, client, gateway)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.text
    return body


async def raw_exchange(url: str, request: bytes, *, until: bytes = b"") -> bytes:
    """Send raw bytes to the server at ``url``; read until ``until`` shows up (or EOF)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        received = b""
        while not until or until not in received:
            data = await asyncio.wait_for(reader.read(65536), 10)
            if not data:
                break
            received += data
        return received
    finally:
        writer.close()


def head_and_body(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    """(status line, headers lower-cased (repeats joined), body) of a raw response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return lines[0], headers, body


__all__ = [
    "PROBLEM_JSON",
    "Site",
    "assert_problem",
    "config_of",
    "head_and_body",
    "raw_exchange",
    "route",
    "served",
    "site",
]
