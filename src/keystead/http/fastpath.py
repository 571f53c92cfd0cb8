"""The routes ``KeysteadAPI`` serves before its router: the hot ones, whose cost
would otherwise be mostly the router (matching the path against every route), the
dependency machinery and the middleware stack.

Each is a plain ASGI app keyed by ``(method, path)``, behind the body limit and the
last-resort 500 in one layer (``guarded``; verify does both itself), which also
reports the answer's status to the access log (``answered``): no wrapped ``send``
and no middleware chain per request. Its expected errors render exactly as the
app's exception handlers render them, so a client cannot tell which path answered
(tests compare the two). Middleware added with ``add_middleware`` does not see
these requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keystead.errors import KeysteadError
from keystead.http import problems
from keystead.http.middleware import declared_size_error, limited_receive, log_unhandled

JSON = b"application/json"
FastRoutes = dict[tuple[str, str], ASGIApp]
"""``(method, path)`` to the app that serves it."""
Handler = Callable[[Request], Awaitable[Response]]
Answer = Callable[[Scope, Receive], Awaitable[Response]]
"""A route as a function of the scope and ``receive``: its answer, or an expected error."""


class JsonAnswer(Response):
    """A JSON ``Response`` built from ready bytes: no header rendering per request.
    ``headers`` are raw ``(name, value)`` pairs, names in lower case."""

    media_type = "application/json"

    def __init__(
        self, body: bytes, status_code: int = 200, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"content-type", JSON),
            (b"content-length", b"%d" % len(body)),
            *headers,
        ]


class HeaderSnapshot:
    """The request headers one route reads, found in one pass over the scope's list
    (the first of each name; values decoded as Latin-1, as Starlette does)."""

    __slots__ = ("values",)

    def __init__(self, scope: Scope, names: frozenset[bytes]) -> None:
        values: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in names and name not in values:
                values[name] = value.decode("latin-1")
        self.values = values

    def get(self, name: bytes, default: str | None = None) -> str | None:
        return self.values.get(name, default)


async def read_body(receive: Receive, *, limit: int | None = None) -> bytes:
    """The whole request body; ``limit`` bytes at most (an ``HTTPException`` 413 past
    it). A client gone before the end is a 400."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise HTTPException(400, "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise HTTPException(413, f"the request body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def expected_problem(exc: KeysteadError | RequestValidationError | HTTPException) -> Response:
    """The problem answer of an expected error, as the app's exception handlers give it."""
    if isinstance(exc, KeysteadError):
        return problems.from_keystead_error(exc)
    if isinstance(exc, RequestValidationError):
        return problems.from_validation_errors(exc.errors())
    return problems.problem(exc.status_code, exc.detail, headers=exc.headers)


def answer_endpoint(answer: Answer) -> ASGIApp:
    """An ``Answer`` as ASGI, its expected errors rendered as problems."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await answer(scope, receive)
        except (KeysteadError, RequestValidationError, HTTPException) as exc:
            response = expected_problem(exc)
        await response(scope, receive, send)

    serve.__name__ = serve.__qualname__ = answer.__name__
    return serve


def request_endpoint(handler: Handler) -> ASGIApp:
    """A route handler that takes only the ``Request`` (no dependencies), as ASGI."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await handler(Request(scope, receive))
        except (KeysteadError, RequestValidationError, HTTPException) as exc:
            response = expected_problem(exc)
        await response(scope, receive, send)

    serve.__name__ = serve.__qualname__ = handler.__name__
    return serve


def answered(scope: Scope, status: int) -> None:
    """Tell the app's access log (``KeysteadAPI.access_log``, when on) that a fast
    route answers ``status``: it logs what its mode keeps of a hot route."""
    access = getattr(scope["app"], "access_log", None)
    if access is not None:
        access.answered(scope, status)


async def last_resort(scope: Scope, receive: Receive, send: Send) -> None:
    """The generic 500 of a fast route whose handler raised before answering
    (``CatchAllMiddleware``'s, once the exception is logged)."""
    answered(scope, 500)
    await problems.problem(500, problems.GENERIC_500)(scope, receive, send)


def guarded(app: ASGIApp, *, max_body_bytes: int) -> ASGIApp:
    """``app`` behind what the router's middleware stack would have given it (the
    body limit and the last-resort 500), in one layer that also reports the
    answer's status to the access log."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        refused = declared_size_error(scope, max_body_bytes)
        if refused is not None:
            response = problems.problem(*refused)
            answered(scope, response.status_code)
            await response(scope, receive, send)
            return
        started = False

        async def reporting_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                answered(scope, message["status"])
            await send(message)

        try:
            await app(scope, limited_receive(receive, max_body_bytes), reporting_send)
        except Exception:
            log_unhandled(scope)
            if started:
                raise
            await last_resort(scope, receive, send)

    serve.__name__ = serve.__qualname__ = getattr(app, "__name__", "serve")
    return serve


__all__ = [
    "Answer",
    "FastRoutes",
    "Handler",
    "HeaderSnapshot",
    "JsonAnswer",
    "answer_endpoint",
    "answered",
    "expected_problem",
    "guarded",
    "last_resort",
    "read_body",
    "request_endpoint",
]
