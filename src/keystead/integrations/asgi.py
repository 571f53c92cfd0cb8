"""ASGI middleware: every HTTP (and WebSocket) request is checked before the
app sees it. Works under any ASGI framework (Starlette, FastAPI, ...)::

    app.add_middleware(KeysteadMiddleware, guard=Embedded())

Lean on purpose (it runs on every request): it reads the raw scope, never builds
a request object, verifies with ``record=False`` and completes the usage record
after the response, counting bytes as they pass through ``receive``/``send``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from time import perf_counter
from typing import Any, Unpack

from keystead.integrations.context import context_of, request_context
from keystead.integrations.guard import Check, Guard, Served
from keystead.integrations.pending import Pending
from keystead.integrations.refusal import Answer, KeyRefused, missing_key
from keystead.integrations.rules import Protection, ProtectOptions

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PENDING = "keystead.pending"
"""Scope key of the request's ``Pending``."""
IDENTITY = "keystead"
"""``scope["state"]["keystead"]`` holds the ``Identity`` (``request.state.keystead``
in Starlette and FastAPI), None on a public route until a key is verified."""


class KeysteadMiddleware(Protection):
    """Protect an ASGI app with Keystead API keys, or the access tokens (JWTs)
    exchanged for them (verified offline: ``integrations.tokens``).

    ``guard``: ``Embedded(...)`` (in-process) or ``Remote(...)`` (a Keystead
    server). ``options`` (``ProtectOptions``): per-route ``rules``, first match
    wins; other requests need a key with ``permissions`` (any valid key when
    None), or none when ``public`` (then only routes with ``require_key`` ask
    for one); ``sources`` of the key (removed from the request); ``proxies``
    whose ``X-Forwarded-For`` is believed."""

    def __init__(self, app: ASGIApp, guard: Guard, **options: Unpack[ProtectOptions]) -> None:
        super().__init__(options)
        self.app = app
        self.guard = guard
        # an embedded guard decides a cached key and completes usage without
        # coroutines when nothing needs to wait (``Embedded.check_now``)
        self._check_now: Callable[..., Check | None] | None = getattr(guard, "check_now", None)
        self._finish_now: Callable[..., Awaitable[None] | None] | None = getattr(
            guard, "finish_now", None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self.app(scope, receive, self._on_shutdown(send))
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = perf_counter()
        rule = self.routes.match(scope["method"], scope["path"])
        key, inner, seen = self.sources.read(scope)
        state = _state(inner)
        context = None if key is None else context_of(scope, seen, rule.permissions, self.proxies)
        if rule.public:
            pending = Pending(self.guard, key, context, state, IDENTITY)
        else:
            if key is None or context is None:
                await _answer(send, missing_key())
                return
            check_now = self._check_now
            check = None if check_now is None else check_now(key, context, rule.cost)
            if check is None:
                check = await self.guard.check(key, context, rule.cost)
            if check.answer is not None:
                await _answer(send, check.answer)
                await _wait(self._finish(check, check.answer[0], started, 0, len(check.answer[2])))
                return
            pending = Pending(self.guard, None, context, state, IDENTITY, check)
        inner[PENDING] = pending
        exchange = _Exchange(receive, send, pending)
        try:
            await self.app(inner, exchange.receive, exchange.send)
        except KeyRefused as refused:
            if exchange.status is not None:
                raise
            await exchange.send_answer(refused.answer)
        except Exception:
            if exchange.status is None:
                exchange.status = 500  # what the server answers for it
            raise
        finally:
            check = pending.check
            if check is not None:
                waiting = self._finish(
                    check, exchange.status, started, exchange.bytes_in, exchange.bytes_out
                )
                if waiting is not None:  # inline, not ``_wait``: no coroutine per request
                    await waiting

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A refused connection is closed before it is accepted (the client
        sees a 403); usage records carry no status or sizes."""
        started = perf_counter()
        rule = self.routes.match("GET", scope["path"])
        key, inner = self.sources.take(scope)
        state = _state(inner)
        state[IDENTITY] = check = None
        if not rule.public:
            if key is None:
                await send({"type": "websocket.close", "code": 1008})
                return
            context = request_context(scope, rule.permissions, proxies=self.proxies)
            check = await self.guard.check(key, context, rule.cost)
            if check.identity is None:
                await send({"type": "websocket.close", "code": 1008})
                await _wait(self._finish(check, None, started, None, None))
                return
            state[IDENTITY] = check.identity
        try:
            await self.app(inner, receive, send)
        finally:
            if check is not None:
                await _wait(self._finish(check, None, started, None, None))

    def _finish(
        self,
        check: Check,
        status: int | None,
        started: float,
        bytes_in: int | None,
        bytes_out: int | None,
    ) -> Awaitable[None] | None:
        """Complete a checked request: None when that is done already, else what
        to await (no coroutine when nothing needs to wait: ``finish_now``)."""
        served = Served.since(started, status, bytes_in, bytes_out)
        finish_now = self._finish_now
        if finish_now is None:
            return self.guard.finish(check, served)
        return finish_now(check, served)

    def _on_shutdown(self, send: Send) -> Send:
        """Close the guard when the app has shut down (an embedded service it
        opened itself is closed; one it was given is not)."""

        async def forward(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.guard.close()
            await send(message)

        return forward


class _Exchange:
    """One request's passage through the app: counts bytes, notes the status,
    adds the rate-limit headers to the response."""

    __slots__ = ("_pending", "_receive", "_send", "bytes_in", "bytes_out", "status")

    def __init__(self, receive: Receive, send: Send, pending: Pending) -> None:
        self._receive = receive
        self._send = send
        self._pending = pending
        self.status: int | None = None
        self.bytes_in = 0
        self.bytes_out = 0

    async def receive(self) -> Message:
        message = await self._receive()
        body = message.get("body")
        if body:
            self.bytes_in += len(body)
        return message

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            self.bytes_out += len(message.get("body", b""))
        elif kind == "http.response.start":
            self.status = message["status"]
            check = self._pending.check
            if check is not None and check.headers:
                message = {**message, "headers": [*message.get("headers", ()), *check.headers]}
        await self._send(message)

    async def send_answer(self, answer: Answer) -> None:
        self.status = answer[0]
        self.bytes_out += len(answer[2])
        await _answer(self._send, answer)


async def _answer(send: Send, answer: Answer) -> None:
    status, headers, body = answer
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _wait(waiting: Awaitable[None] | None) -> None:
    if waiting is not None:
        await waiting


def _state(scope: Scope) -> MutableMapping[str, Any]:
    """The request's state dict (``request.state``)."""
    state = scope.get("state")
    if state is None:
        state = scope["state"] = {}
    return state


def pending_of(scope: Scope) -> Pending | None:
    """The ``Pending`` a ``KeysteadMiddleware`` left in the scope, if any."""
    pending = scope.get(PENDING)
    return pending if isinstance(pending, Pending) else None


__all__ = ["IDENTITY", "PENDING", "KeysteadMiddleware", "Pending", "pending_of"]
