"""``GET /v1/events/invalidations``: what changed, as Server-Sent Events, for
clients that cache verification answers (the Python SDK's verify cache).

One event per change of a key, API, plan, owner, root key or secret (``mount/path``)
of the caller's workspace, ids only::

    id: 3f9a61c2.42
    data: {"kind":"key","id":"key_01JZ..."}

``{"kind": "all"}`` means "drop everything": the server cannot tell what the
client missed (a fresh connection, another node, or a client that fell
behind). The backlog is followed by ``event: ready``; a ``: ping`` comment goes
out every ``HEARTBEAT_S`` seconds. A stream lasts ``max_s`` seconds (at most
``MAX_STREAM_S``, so a server shutting down is not held up for long); the client
reconnects with ``Last-Event-ID`` and misses nothing that this node still
remembers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

import orjson
from fastapi import Query
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from keystead.core.authz import Principal
from keystead.errors import KeysteadError
from keystead.http.auth import Auth, Service
from keystead.http.routing import router as make_router
from keystead.service.changes import Change, ChangeFeed, Subscription, reads_some_secret

log = logging.getLogger("keystead.http")
PATH = "/v1/events/invalidations"
HEARTBEAT_S = 15.0
MAX_STREAM_S = 60.0
DEFAULT_STREAM_S = 30.0
_MAX_EVENT_ID = 64
_PING = b": ping\n\n"
_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # nginx: pass each event on at once
]

Write = Callable[[bytes], Awaitable[None]]

router = make_router(tags=["events"])


def sse_event(event_id: str, data: dict[str, str], event: str | None = None) -> bytes:
    head = f"id: {event_id}\n" + (f"event: {event}\n" if event else "")
    return head.encode() + b"data: " + orjson.dumps(data) + b"\n\n"


class EventStream(Response):
    """The stream of one subscription, until ``lifetime_s`` passes, the client
    leaves, or the caller's own root key changes (it may have been revoked)."""

    media_type = "text/event-stream"

    def __init__(
        self, feed: ChangeFeed, subscription: Subscription, principal: Principal, lifetime_s: float
    ) -> None:
        self.status_code = 200
        self.background = None
        self.raw_headers = list(_HEADERS)
        self._feed = feed
        self._subscription = subscription
        self._principal = principal
        self._lifetime_s = lifetime_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        subscription = self._subscription
        watcher = asyncio.ensure_future(_until_disconnect(receive, subscription))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._stream(send, watcher)
            await send({"type": "http.response.body", "body": b""})
        finally:
            subscription.close()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _stream(self, send: Send, watcher: asyncio.Future[None]) -> None:
        async def write(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        subscription, feed = self._subscription, self._feed
        for missed in subscription.backlog:
            if not await self._relay(missed, write):
                return
        await write(sse_event(feed.event_id(subscription.position), {}, "ready"))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lifetime_s
        while not watcher.done():
            left = deadline - loop.time()
            if left <= 0:
                return
            change = await subscription.next(min(HEARTBEAT_S, left))
            if change is None:
                if not watcher.done() and deadline > loop.time():
                    await write(_PING)
            elif not await self._relay(change, write):
                return

    async def _relay(self, change: Change, write: Write) -> bool:
        """Write the change's event if it is the caller's business; False ends
        the stream (its own root key changed, or the store failed)."""
        if change.kind == "root_key" and self._principal.actor == f"root_key:{change.id}":
            return False
        event_id = self._feed.event_id(change.seq)
        try:
            event = await self._feed.visible(self._principal, change)
        except Exception as exc:
            # the change cannot be placed, so every client cache drops everything
            if not isinstance(exc, KeysteadError):
                log.warning("invalidation stream ended on %s", type(exc).__name__)
            await write(sse_event(event_id, {"kind": "all"}))
            return False
        if event is not None:
            await write(sse_event(event_id, event))
        return True


async def _until_disconnect(receive: Receive, subscription: Subscription) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    subscription.interrupt()


@router.get(
    PATH,
    summary="Stream cache invalidations (Server-Sent Events)",
    response_class=Response,
    responses={200: {"content": {"text/event-stream": {}}, "description": "the event stream"}},
)
async def invalidations(
    request: Request,
    ks: Service,
    principal: Auth,
    max_s: Annotated[
        float | None,
        Query(ge=0, le=MAX_STREAM_S, description="close the stream after this many seconds"),
    ] = None,
) -> Response:
    """Needs ``keys.verify`` (whoever verifies keys may cache the answers), or a
    ``secrets.read`` grant: such a token hears only of the secrets it may read
    (``keystead run --watch``). Send ``Last-Event-ID`` to resume after the last
    event seen."""
    if not principal.grants.covers("keys.verify") and not reads_some_secret(principal):
        principal.require("keys.verify")
    last = request.headers.get("last-event-id")
    if last is not None and len(last) > _MAX_EVENT_ID:
        last = None
    subscription = ks.changes.subscribe(principal.workspace_id, last)
    lifetime = DEFAULT_STREAM_S if max_s is None else max_s
    return EventStream(ks.changes, subscription, principal, lifetime)


__all__ = ["DEFAULT_STREAM_S", "HEARTBEAT_S", "MAX_STREAM_S", "PATH", "EventStream", "router"]
