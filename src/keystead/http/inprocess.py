"""The HTTP application in this process, as the local operator: what the CLI's
local mode (and any embedder) talks to through the SDK instead of a network.

``InProcessTransport`` is an ``httpx`` transport (sync) onto the very ASGI app
that ``keystead serve`` runs, opened on the local store. Each request is
authenticated by putting the local operator's principal in the ASGI scope, the
place where the app keeps the caller it has authenticated. An ASGI server
builds every scope itself from the connection and never copies a header or a
value of the client's into it, so this identity cannot be reached over the
network (tests/http/test_inprocess.py proves it against a real server).
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

import httpx

from keystead.http.auth import PRINCIPAL_SCOPE_KEY

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from keystead.client import Client
    from keystead.config import Settings
    from keystead.core.authz import Principal
    from keystead.service import Keystead

CLOSE_WAIT_S = 10.0
LOCAL_BASE_URL = "http://keystead.local"
"""The base URL an in-process client names; no request ever leaves the process."""


def as_principal(app: ASGIApp, principal: Principal) -> ASGIApp:
    """``app`` with every request made by ``principal``: it sits in the scope, so
    the app's authentication takes it as already done."""

    async def authenticated(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, PRINCIPAL_SCOPE_KEY: principal}
        await app(scope, receive, send)

    return authenticated


async def round_trip(asgi: httpx.ASGITransport, request: httpx.Request) -> httpx.Response:
    """``request`` of a blocking client, answered whole by ``asgi``."""
    request.read()  # the blocking body, made readable by the async transport
    response = await asgi.handle_async_request(request)
    content = await response.aread()
    return httpx.Response(
        response.status_code, headers=response.headers, content=content, request=request
    )


class InProcessTransport(httpx.BaseTransport):
    """Requests served by the HTTP app over the local store, in this process, as
    the local operator of ``workspace_id`` (default: the first workspace).

    The service is opened on the first request (the secret must exist: run
    ``keystead init``), on an event loop of its own that lives until ``close``.
    Errors of opening it (no store, no secret) are raised as they are, since
    they are this machine's and no HTTP answer. Requests from several threads
    take turns on that loop.
    """

    def __init__(self, settings: Settings, workspace_id: str | None = None) -> None:
        self._settings = settings
        self._workspace_id = workspace_id
        self._runner: asyncio.Runner | None = None
        self._service: Keystead | None = None
        self._asgi: httpx.ASGITransport | None = None
        self._turn = threading.Lock()

    def __repr__(self) -> str:
        return "InProcessTransport()"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._turn:
            if self._runner is None:
                self._runner = asyncio.Runner()
            return self._runner.run(self._handle(request))

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        return await round_trip(self._asgi or await self._open(), request)

    async def _open(self) -> httpx.ASGITransport:
        from keystead.http.app import create_app
        from keystead.service import Keystead

        # a short-lived process beside a server or other commands on the same store:
        # nothing tells it of their writes, so it keeps no secret between reads
        settings = self._settings.model_copy(update={"secret_cache_s": 0.0})
        service = await Keystead.open(settings=settings, create_secret=False)
        self._service = service
        operator = await service.workspaces.local_operator(self._workspace_id)
        self._asgi = httpx.ASGITransport(as_principal(create_app(service), operator))
        return self._asgi

    def close(self, wait_s: float = CLOSE_WAIT_S) -> None:
        """Close the service and its loop, after the request under way in another
        thread, if any; one still under way after ``wait_s`` keeps them (a process
        on its way out does not wait on a stalled store)."""
        if not self._turn.acquire(timeout=wait_s):
            return
        try:
            self._close()
        finally:
            self._turn.release()

    def _close(self) -> None:
        runner, self._runner = self._runner, None
        service, self._service = self._service, None
        self._asgi = None
        if runner is None:
            return
        try:
            if service is not None:
                runner.run(service.close())
        finally:
            runner.close()


def local_client(settings: Settings, workspace: str | None = None) -> Client:
    """An SDK client on the local store (``settings``) as its local operator, in
    ``workspace`` (None: the first): what the CLI's local mode and
    ``keystead.secrets`` without ``KEYSTEAD_URL`` talk to. No socket is opened."""
    from keystead.client import Client

    transport = InProcessTransport(settings, workspace)
    # nothing to wait out in-process: an answer is final
    return Client(LOCAL_BASE_URL, None, retries=0, transport=transport)


__all__ = ["LOCAL_BASE_URL", "InProcessTransport", "as_principal", "local_client", "round_trip"]
