"""Starlette: ``KeysteadMiddleware`` protects the app; ``require_key`` asks a
route for a key (or more permissions) and ``identity(request)`` reads it::

    app = Starlette(routes=[...], middleware=[
        Middleware(KeysteadMiddleware, guard=Embedded(), public=True),
    ])

    @require_key("documents.read")
    async def documents(request: Request) -> Response:
        key = identity(request)
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from keystead.integrations.asgi import KeysteadMiddleware, pending_of
from keystead.integrations.identity import Identity
from keystead.integrations.refusal import Answer, KeyRefused

Endpoint = Callable[[Request], Awaitable[Response]]


def identity(connection: HTTPConnection) -> Identity | None:
    """The verified key of this request (None on a public route without one)."""
    value = connection.scope.get("state", {}).get("keystead")
    return value if isinstance(value, Identity) else None


def require_key(
    permissions: str | None = None, *, cost: int | None = None
) -> Callable[[Endpoint], Endpoint]:
    """Decorate an endpoint that needs a key whose permissions satisfy
    ``permissions``; needs ``KeysteadMiddleware`` on the app."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            pending = pending_of(request.scope)
            if pending is None:
                raise RuntimeError("require_key needs KeysteadMiddleware on the app")
            try:
                await pending.identity(permissions, cost)
            except KeyRefused as refused:
                return problem_response(refused.answer)
            return await endpoint(request)

        return guarded

    return decorate


def problem_response(answer: Answer) -> Response:
    """A Starlette response of a refusal (problem+json and its headers)."""
    status, headers, body = answer
    response = Response(body, status)
    response.raw_headers = list(headers)
    return response


__all__ = ["KeysteadMiddleware", "identity", "problem_response", "require_key"]
