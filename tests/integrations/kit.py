"""Support for the integration tests: real servers on loopback (uvicorn in the
test's event loop, werkzeug in a thread), keys issued through the service, and
the checks every refusal must pass."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from werkzeug.serving import make_server

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.usage import UsageRecord
from keystead.http import create_app
from keystead.service import Keystead
from keystead.sync import SyncKeystead

PROBLEM_JSON = "application/problem+json"


@dataclass
class Issued:
    """A key made for a test: its plaintext and id."""

    plaintext: str
    key_id: str
    api_id: str


async def issue(ks: Keystead, admin: Principal, **fields: Any) -> Issued:
    """A new key of the API ``docs`` (created on first use)."""
    apis = [api for api in await ks.apis.list(admin) if api.name == "docs"]
    api = apis[0] if apis else await ks.apis.create(admin, name="docs", prefix="docs")
    created = await ks.keys.create(admin, api_id=api.id, **fields)
    return Issued(created.plaintext, created.key.id, api.id)


def issue_sync(ks: SyncKeystead, **fields: Any) -> Issued:
    """``issue`` for a blocking service."""
    admin = ks.workspaces.local_operator()
    apis = [api for api in ks.apis.list(admin) if api.name == "docs"]
    api = apis[0] if apis else ks.apis.create(admin, name="docs", prefix="docs")
    created = ks.keys.create(admin, api_id=api.id, **fields)
    return Issued(created.plaintext, created.key.id, api.id)


def usage_of_sync(
    ks: SyncKeystead, key_id: str, count: int = 1, *, completed: bool = False
) -> list[UsageRecord]:
    """The key's usage records, oldest first, once ``count`` are written;
    ``completed``: only those that carry a response status."""
    admin = ks.workspaces.local_operator()
    records: list[UsageRecord] = []
    for _ in range(300):
        ks.usage.flush()
        records = ks.usage.records(admin, key_id=key_id)
        if completed:
            records = [record for record in records if record.status is not None]
        if len(records) >= count:
            break
        time.sleep(0.01)
    return sorted(records, key=lambda record: record.at)


async def usage_of(ks: Keystead, admin: Principal, key_id: str) -> list[UsageRecord]:
    """The key's usage records, oldest first, once everything pending is written."""
    for _ in range(100):
        await ks.usage.flush()
        records = await ks.usage.records(admin, key_id=key_id)
        if records:
            return list(reversed(records))
        await asyncio.sleep(0.01)
    return []


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serve_asgi(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Serve an ASGI app with uvicorn on a loopback port, in this event loop,
    and yield a client of it (real sockets, real HTTP/1.1)."""
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextmanager
def serve_wsgi(app: Any) -> Iterator[httpx.Client]:
    """Serve a WSGI app with werkzeug's threaded server on a loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}") as client:
            yield client
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def keystead_server(settings: Settings) -> Iterator[str]:
    """A Keystead HTTP server (``create_app``, its own service opened by the
    lifespan) in a thread on a loopback port; yields its base URL."""
    sock = free_socket()
    config = uvicorn.Config(
        create_app(settings=settings), lifespan="on", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


def root_key(ks: SyncKeystead) -> str:
    """A root key of the workspace ``issue_sync`` uses."""
    admin = ks.workspaces.local_operator()
    created = ks.root_keys.create(admin, name="middleware", permissions=["keys.verify"])
    return str(created.plaintext)


def until_status(call: Callable[[], httpx.Response], status: int) -> httpx.Response:
    """Repeat ``call`` until it answers ``status`` or 5 s pass (for work another
    thread finishes after the response, such as handing a lease back)."""
    deadline = time.monotonic() + 5
    while True:
        response = call()
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.02)


def assert_refused(response: httpx.Response, status: int) -> dict[str, Any]:
    """A problem+json refusal with a Bearer challenge; returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="keystead"'), challenge
    if status == 401 and "error" in challenge:
        assert 'error="invalid_token"' in challenge
    if status == 403:
        assert 'error="insufficient_scope"' in challenge
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert "Traceback" not in response.text
    return body


def same_answer(first: httpx.Response, second: httpx.Response) -> None:
    """Two refusals a caller cannot tell apart (status, headers, body)."""
    assert first.status_code == second.status_code
    assert first.content == second.content
    assert _answer_headers(first.headers) == _answer_headers(second.headers)


def _answer_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower() not in ("date", "server")}


__all__ = [
    "PROBLEM_JSON",
    "Issued",
    "assert_refused",
    "free_socket",
    "issue",
    "issue_sync",
    "keystead_server",
    "root_key",
    "same_answer",
    "serve_asgi",
    "serve_wsgi",
    "until_status",
    "usage_of",
    "usage_of_sync",
]
