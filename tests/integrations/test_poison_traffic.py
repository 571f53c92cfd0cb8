"""An end user's hostile request through the middleware (ASGI and WSGI, embedded
and remote): raw header bytes (NUL, invalid UTF-8, control characters, long) and
paths with NUL or lone surrogates. The middleware cleans what no store can hold,
the protected app answers (never a 500), and the request is recorded, cleaned,
with a normal request after it (the remote mode's reports are not refused)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.middleware import Middleware

from conftest import BACKENDS, backend_database
from keystead.client import AsyncClient
from keystead.core.models import VerifyContext
from keystead.core.usage import UsageRecord
from keystead.integrations.asgi import KeysteadMiddleware
from keystead.integrations.context import environ_context, request_context
from keystead.integrations.embedded import Embedded, SyncEmbedded
from keystead.integrations.remote import Remote
from keystead.integrations.wsgi import KeysteadMiddleware as KeysteadWsgi
from keystead.service import Keystead
from keystead.sync import SyncKeystead
from poison import RAW_HEADER_VALUES, cleaned

from .apps import starlette_app
from .kit import issue, issue_sync, keystead_server, root_key, usage_of, usage_of_sync

HEADERS = ("user-agent", "referer")
PATHS = ["/echo%00x", "/echo/%ED%A0%80", "/echo/" + "a" * 6000]


def all_clean(records: list[UsageRecord]) -> None:
    for record in records:
        for value in (record.ip, record.user_agent, record.method, record.path):
            assert value is None or cleaned(value)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every store, unlike the other integration tests: what is recorded is under test."""
    with backend_database(request.param, tmp_path) as url:
        yield url


SENT = len(HEADERS) + len(PATHS) + 1
"""Requests ``hostile_requests`` makes, each of them recorded."""


async def hostile_requests(app: Any, key: str, raw: bytes) -> None:
    """The hostile header in each context header, each hostile path, then a normal
    request: every one answered by the app (404 for an unknown path), none a 500."""
    credential = (b"x-api-key", key.encode())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
        for name in HEADERS:
            answer = await client.get("/echo", headers=[credential, (name.encode(), raw)])
            assert answer.status_code == 200, answer.text
        for path in PATHS:
            answer = await client.get(path, headers=[credential])
            assert answer.status_code < 500, answer.text
        assert (await client.get("/echo", headers=[credential])).status_code == 200


@pytest.mark.parametrize("raw", RAW_HEADER_VALUES)
async def test_asgi_embedded(keystead: Keystead, raw: bytes) -> None:
    admin = await keystead.workspaces.local_operator()
    issued = await issue(keystead, admin)
    app = starlette_app([Middleware(KeysteadMiddleware, guard=Embedded(keystead))])
    await hostile_requests(app, issued.plaintext, raw)
    records = await usage_of(keystead, admin, issued.key_id)
    for _ in range(100):  # the answers complete their records after the response
        if len(records) == SENT:
            break
        await asyncio.sleep(0.01)
        records = await usage_of(keystead, admin, issued.key_id)
    assert len(records) == SENT
    assert keystead.usage.recorder.refused == 0
    all_clean(records)


def test_the_context_of_a_hostile_request_is_clean() -> None:
    raw = b"a\x00b\xff"
    scope = {
        "type": "http",
        "method": "G\x00T",
        "path": "/a\x00\ud800b",
        "headers": [(b"user-agent", raw), (b"referer", raw)],
        "client": ("127.0.0.1", 1),
    }
    environ = {
        "REQUEST_METHOD": "G\x00T",
        "PATH_INFO": "/a\x00b\udcff",
        "HTTP_USER_AGENT": "a\x00b",
        "HTTP_REFERER": "\ud800",
        "REMOTE_ADDR": "127.0.0.1",
    }
    contexts: list[VerifyContext] = [request_context(scope), environ_context(environ)]
    for context in contexts:
        for value in (context.user_agent, context.referrer, context.method, context.path):
            assert value is not None and cleaned(value)
        assert context.path is not None and context.path.startswith("/a\ufffd")


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def wsgi_get(app: KeysteadWsgi, path: str, **headers: str) -> int:
    """Call the app as a WSGI server would: header bytes and the percent-decoded
    path as latin-1 text; the body read and closed (which completes usage)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "app.test",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    status: list[str] = []

    def start_response(line: str, _: Any, exc_info: Any = None) -> Any:
        status.append(line)
        return lambda data: None

    body = app(environ, start_response)
    try:
        b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()
    return int(status[0].split()[0])


@pytest.mark.parametrize("raw", RAW_HEADER_VALUES)
def test_wsgi_embedded(sync_keystead: SyncKeystead, raw: bytes) -> None:
    issued = issue_sync(sync_keystead)
    app = KeysteadWsgi(hello, guard=SyncEmbedded(sync_keystead))
    key, text = issued.plaintext, raw.decode("latin-1")
    assert wsgi_get(app, "/data", x_api_key=key, user_agent=text) == 200
    assert wsgi_get(app, "/data", x_api_key=key, referer=text) == 200
    for path in ("/data\x00x", "/data/\xed\xa0\x80", "/data/" + "a" * 6000):
        assert wsgi_get(app, path, x_api_key=key) == 200
    assert wsgi_get(app, "/data", x_api_key=key) == 200
    records = usage_of_sync(sync_keystead, issued.key_id, count=6, completed=True)
    assert len(records) == 6
    all_clean(records)


@pytest.mark.parametrize("raw", RAW_HEADER_VALUES)
async def test_asgi_remote(sync_keystead: SyncKeystead, raw: bytes, settings: Any) -> None:
    issued = issue_sync(sync_keystead)
    with keystead_server(settings) as url:
        async with AsyncClient(url, root_key(sync_keystead)) as sdk:
            app = starlette_app([Middleware(KeysteadMiddleware, guard=Remote(sdk))])
            await hostile_requests(app, issued.plaintext, raw)
            await sdk.flush_usage()
        records = usage_of_sync(sync_keystead, issued.key_id, count=SENT, completed=True)
    assert len(records) == SENT
    all_clean(records)
