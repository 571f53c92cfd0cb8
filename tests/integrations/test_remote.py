"""Remote mode: the middleware verifies through the SDK against a real Keystead
server (its own thread and port), and reports completed requests back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test.utils import override_settings
from flask import Flask, g
from starlette.middleware import Middleware

from keystead.client import AsyncClient, Client
from keystead.config import Settings
from keystead.core.models import VerifyContext
from keystead.integrations import flask as keystead_flask
from keystead.integrations.asgi import KeysteadMiddleware
from keystead.integrations.guard import Served
from keystead.integrations.remote import Remote, SyncRemote
from keystead.sync import SyncKeystead

from . import django_site
from .apps import documents_app, starlette_app
from .kit import (
    assert_refused,
    free_socket,
    issue_sync,
    keystead_server,
    root_key,
    same_answer,
    serve_asgi,
    serve_wsgi,
    until_status,
    usage_of_sync,
)

assert django_site.urlpatterns


@pytest.fixture
def settings(database_url: str, server_secret: str, tmp_path: Path) -> Settings:
    """Usage written within 50 ms, so the reports are quickly read back."""
    return Settings(
        _env_file=None,
        database_url=database_url,
        secret=server_secret,
        secret_file=tmp_path / "keystead.secret",
        usage_flush_interval_s=0.05,
    )


@pytest.fixture
def server(settings: Settings, sync_keystead: SyncKeystead) -> Iterator[str]:
    with keystead_server(settings) as url:
        yield url


async def test_asgi_remote(server: str, sync_keystead: SyncKeystead) -> None:
    limits = [{"name": "requests", "limit": 2, "duration_s": 60}]
    issued = issue_sync(sync_keystead, owner_id="acme", ratelimits=limits, meta={"a": 1})
    revoked = issue_sync(sync_keystead)
    sync_keystead.keys.revoke(sync_keystead.workspaces.local_operator(), revoked.key_id)
    async with AsyncClient(server, root_key(sync_keystead)) as sdk:
        middleware = [Middleware(KeysteadMiddleware, guard=Remote(sdk))]
        async with serve_asgi(starlette_app(middleware)) as client:
            headers = {"X-API-Key": issued.plaintext}
            served = await client.post("/echo", headers=headers, content=b"hello")
            second = await client.get("/echo", headers=headers)
            limited = await client.get("/echo", headers=headers)
            gone = await client.get("/echo", headers={"X-API-Key": revoked.plaintext})
            unknown = await client.get("/echo", headers={"X-API-Key": revoked.plaintext + "1"})
            garbage = await client.get("/echo", headers={"X-API-Key": "x" * 5000})
        await sdk.flush_usage()
    assert served.status_code == 200, served.text
    identity = served.json()["identity"]
    assert (identity["key_id"], identity["owner_id"], identity["meta"]) == (
        issued.key_id,
        "acme",
        {"a": 1},
    )
    assert "x-api-key" not in served.json()["headers"]
    assert served.headers["ratelimit-policy"] == '"requests";q=2;w=60'  # the window, told
    assert second.headers["ratelimit"].startswith('"requests";r=0;t=')
    assert assert_refused(limited, 429)["code"] == "RATE_LIMITED"
    assert int(limited.headers["retry-after"]) > 0
    assert_refused(gone, 401)
    same_answer(gone, unknown)
    same_answer(gone, garbage)
    records = usage_of_sync(sync_keystead, issued.key_id, count=3, completed=True)
    assert [(r.code, r.status) for r in records] == [
        ("VALID", 200),
        ("VALID", 200),
        ("RATE_LIMITED", 429),
    ]
    assert records[0].bytes_in == 5 and records[0].bytes_out == len(served.content)
    assert records[0].path == "/echo" and records[0].response_ms is not None


async def test_an_unreachable_server_is_a_503(sync_keystead: SyncKeystead) -> None:
    sock = free_socket()  # bound, never listening: connections are refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    guard = Remote(url=url, root_key="ks_root_unused")
    try:
        async with serve_asgi(
            starlette_app([Middleware(KeysteadMiddleware, guard=guard)])
        ) as client:
            answer = await client.get("/echo", headers={"X-API-Key": "docs_" + "A" * 40})
    finally:
        await guard.close()
        sock.close()
    body = assert_refused(answer, 503)
    assert "retry later" in body["detail"]


def test_flask_remote(server: str, sync_keystead: SyncKeystead) -> None:
    issued = issue_sync(
        sync_keystead, permissions=["data.read"], concurrency={"limit": 1, "lease_s": 60}
    )
    other = issue_sync(sync_keystead)
    app = Flask(__name__)
    guard = SyncRemote(url=server, root_key=root_key(sync_keystead))
    keystead_flask.Keystead(app, guard)

    @app.get("/api/data")
    @keystead_flask.require_key("data.read")
    def data() -> dict[str, str]:
        return {"key_id": g.keystead.key_id}

    headers = {"X-API-Key": issued.plaintext}
    try:
        with serve_wsgi(app) as client:
            first = client.get("/api/data", headers=headers)
            again = until_status(lambda: client.get("/api/data", headers=headers), 200)
            forbidden = client.get("/api/data", headers={"X-API-Key": other.plaintext})
    finally:
        guard.close()
    assert first.json() == {"key_id": issued.key_id}
    assert again.status_code == 200  # the lease was handed back after the response
    assert assert_refused(forbidden, 403)["code"] == "INSUFFICIENT_PERMISSIONS"
    records = usage_of_sync(sync_keystead, issued.key_id, count=2, completed=True)
    assert records[0].status == 200 and records[0].bytes_out == len(first.content)


def test_django_remote(server: str, sync_keystead: SyncKeystead) -> None:
    issued = issue_sync(sync_keystead, permissions=["documents.read"])
    remote = {"URL": server, "ROOT_KEY": root_key(sync_keystead)}
    with override_settings(KEYSTEAD={"REMOTE": remote, "PUBLIC": True}):
        handler = WSGIHandler()
    with serve_wsgi(handler) as client:
        served = client.get("/documents", headers={"X-API-Key": issued.plaintext})
        missing = client.get("/documents")
    assert served.status_code == 200, served.text
    assert served.json()["key_id"] == issued.key_id
    assert_refused(missing, 401)
    records = usage_of_sync(sync_keystead, issued.key_id, completed=True)
    assert records[0].status == 200


def test_a_shared_client_is_flushed_not_closed(server: str, sync_keystead: SyncKeystead) -> None:
    issued = issue_sync(sync_keystead)
    with Client(server, root_key(sync_keystead)) as sdk:
        guard = SyncRemote(sdk)
        check = guard.check(issued.plaintext, django_context())
        assert check.identity is not None and check.identity.key_id == issued.key_id
        guard.finish(check, Served(204, 1.5, 0, 0))
        guard.close()
        assert sdk.verify(issued.plaintext).valid  # still open
    records = usage_of_sync(sync_keystead, issued.key_id, completed=True)
    assert (records[0].status, records[0].response_ms) == (204, 1.5)


def test_closing_waits_for_a_request_still_being_answered(
    server: str, sync_keystead: SyncKeystead
) -> None:
    issued = issue_sync(sync_keystead)
    with Client(server, root_key(sync_keystead)) as sdk:
        guard = SyncRemote(sdk)
        check = guard.check(issued.plaintext, django_context())
        closing = threading.Thread(target=guard.close)
        closing.start()
        closing.join(0.3)
        assert closing.is_alive()  # waiting for the request
        guard.finish(check, Served(201, 1.5, 0, 0))
        closing.join(10)
        assert not closing.is_alive()
    records = usage_of_sync(sync_keystead, issued.key_id, completed=True)
    assert [record.status for record in records] == [201]


def django_context() -> VerifyContext:
    return VerifyContext(ip="127.0.0.1", method="GET", path="/x")


async def test_fastapi_dependency_remote(server: str, sync_keystead: SyncKeystead) -> None:
    reader = issue_sync(sync_keystead, permissions=["documents.read"])
    other = issue_sync(sync_keystead)
    app = documents_app()
    async with AsyncClient(server, root_key(sync_keystead)) as sdk:
        app.add_middleware(KeysteadMiddleware, guard=Remote(sdk), public=True)
        async with serve_asgi(app) as client:
            served = await client.get("/documents", headers={"X-API-Key": reader.plaintext})
            forbidden = await client.get("/documents", headers={"X-API-Key": other.plaintext})
            health = await client.get("/health")
    assert served.status_code == 200, served.text
    assert served.json()["key_id"] == reader.key_id
    assert assert_refused(forbidden, 403)["code"] == "INSUFFICIENT_PERMISSIONS"
    assert health.status_code == 200
