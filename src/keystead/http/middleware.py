"""Two small pure-ASGI middlewares: a request body size limit and a last-resort 500.

Pure ASGI (no ``BaseHTTPMiddleware``). The hot routes served before the router
(``keystead.http.fastpath``) get both in one layer, from the same two checks:
``declared_size_error`` and ``log_unhandled``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keystead.core import keyformat
from keystead.http.problems import GENERIC_500, problem

log = logging.getLogger("keystead.http")

ErrorResponder = Callable[[int, str], ASGIApp]
"""Renders an error answer (status, detail): problem+json by default; the Vault face
passes its own ``{"errors": [...]}``."""


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the streamed body passes the limit; rendered as 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def declared_size_error(scope: Scope, limit: int) -> tuple[int, str] | None:
    """(status, detail) of a request whose ``Content-Length`` (the first one) is not
    a number (400) or declares more than ``limit`` bytes (413); None otherwise."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return content_length_error(value, limit)
    return None


def content_length_error(value: bytes, limit: int) -> tuple[int, str] | None:
    """``declared_size_error`` of one ``Content-Length`` value."""
    if not value.isdigit():
        return 400, "the Content-Length header is not a number"
    if int(value) > limit:
        return 413, BodyTooLarge(limit).detail
    return None


def log_unhandled(scope: Scope) -> None:
    """Log the exception being handled, which escaped the handler of ``scope``
    (traceback to the ``keystead.http`` logger; key-shaped text redacted from the path)."""
    log.exception(
        "unhandled error answering %s %s",
        scope["method"],
        keyformat.redact_keys(scope["path"]),
    )


class BodyLimitMiddleware:
    """Refuse bodies over ``max_body_bytes``: up front from ``Content-Length``, and by
    counting the bytes actually received (chunked uploads have no length)."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, *, error: ErrorResponder = problem
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.error = error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        refused = declared_size_error(scope, limit)
        if refused is not None:
            await self.error(*refused)(scope, receive, send)
            return
        await self.app(scope, limited_receive(receive, limit), send)


def limited_receive(receive: Receive, limit: int) -> Receive:
    """``receive``, counting the body bytes it hands on: ``BodyTooLarge`` once they
    pass ``limit`` (chunked uploads declare no length)."""
    received = 0

    async def limited() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return limited


class CatchAllMiddleware:
    """Turn any exception that escaped the handlers into a generic 500 problem.

    The traceback goes to the ``keystead.http`` logger; the client learns nothing
    of it. Exception messages in this package never carry key material.
    """

    def __init__(self, app: ASGIApp, *, error: ErrorResponder = problem) -> None:
        self.app = app
        self.error = error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log_unhandled(scope)
            if started:
                raise
            response = self.error(500, GENERIC_500)
            await response(scope, receive, send)


__all__ = [
    "BodyLimitMiddleware",
    "BodyTooLarge",
    "CatchAllMiddleware",
    "ErrorResponder",
    "content_length_error",
    "declared_size_error",
    "limited_receive",
    "log_unhandled",
]
