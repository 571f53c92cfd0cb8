"""An in-process Keystead HTTP app, reached by the sync client through an injected
transport that runs the ASGI app on an event loop of its own; and a real server
(``live``) for what needs real sockets: streams, retries, timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from keystead.client import Client
from keystead.config import Settings
from keystead.http.app import create_app
from keystead.http.inprocess import round_trip
from keystead.service import Keystead

from .live import LiveServer, live_server

BASE_URL = "http://keystead.test"


class AsgiSyncTransport(httpx.BaseTransport):
    """Hands each request to ``httpx.ASGITransport`` on ``runner``'s event loop."""

    def __init__(self, runner: asyncio.Runner, asgi: httpx.ASGITransport) -> None:
        self._runner = runner
        self._asgi = asgi

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._runner.run(self._send(request))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        return await round_trip(self._asgi, request)


@dataclass
class App:
    client: Client
    root_key: str
    transport: AsgiSyncTransport
    ks: Keystead
    runner: asyncio.Runner


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    """A fresh store (each backend of the shared table), its first root key, and a
    client of the HTTP API over it."""
    with asyncio.Runner() as runner:
        ks = runner.run(Keystead.open(settings=settings))
        try:
            root_key = runner.run(ks.workspaces.init()).root_key.plaintext
            asgi = httpx.ASGITransport(app=create_app(ks))
            transport = AsgiSyncTransport(runner, asgi)
            with Client(BASE_URL, root_key, transport=transport) as client:
                yield App(client, root_key, transport, ks, runner)
        finally:
            runner.run(ks.close())


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    """A real server (uvicorn on a loopback port) over a fresh store, with
    usage written every 0.1 s."""
    tuned = settings.model_copy(update={"usage_flush_interval_s": 0.1})
    with live_server(tuned) as server:
        yield server
