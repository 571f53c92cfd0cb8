"""FastAPI: a dependency that gives a route the caller's verified key::

    app = FastAPI()
    app.add_middleware(KeysteadMiddleware, guard=Embedded())

    @app.get("/documents")
    async def documents(key: Identity = Depends(require_key("documents.read"))): ...

``require_key`` works with ``KeysteadMiddleware`` (which verifies, strips the
key and completes usage after the response) or without it, after
``install(app, guard)``: it then verifies by itself, and a small ASGI wrapper
``install`` adds completes the usage record (with the response's status, not
its sizes) and hands back concurrency leases once the response is sent.

The dependency is a plain ``async def`` (not a generator, which FastAPI runs
through an exit stack at about 25 us more per request).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from keystead.integrations.asgi import (
    ASGIApp,
    KeysteadMiddleware,
    Message,
    Receive,
    Scope,
    Send,
    pending_of,
)
from keystead.integrations.context import TrustedProxies, request_context
from keystead.integrations.credentials import KeySources
from keystead.integrations.guard import Check, Guard, Served
from keystead.integrations.identity import Identity
from keystead.integrations.refusal import KeyRefused, missing_key
from keystead.integrations.starlette import identity, problem_response

_INSTALLED = "keystead_installed"
_CHECKED = "keystead.checked"
"""Scope key of the checks ``require_key`` made in install mode, with their start."""


@dataclass(frozen=True, slots=True)
class _Installed:
    guard: Guard
    sources: KeySources
    proxies: TrustedProxies | None


def install(
    app: Starlette,
    guard: Guard,
    *,
    sources: KeySources | None = None,
    proxies: TrustedProxies | None = None,
) -> None:
    """Let ``require_key`` verify without the middleware: keep the guard,
    answer its refusals with problem+json and complete its checks once the
    response is sent. (The credential then stays in the request: the
    middleware is what removes it.) Call it before the app starts."""
    setattr(app.state, _INSTALLED, _Installed(guard, sources or KeySources(), proxies))
    app.add_exception_handler(KeyRefused, _refused)
    app.add_middleware(_CompleteChecks, guard=guard)


class _CompleteChecks:
    """Completes, after the response, the checks ``require_key`` made."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        checked: list[tuple[Check, float]] = []
        scope[_CHECKED] = checked
        status: int | None = None

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            status = status or 500
            raise
        finally:
            for check, started in checked:
                await self.guard.finish(check, Served.since(started, status))


def require_key(
    permissions: str | None = None, *, cost: int | None = None
) -> Callable[[Request], Awaitable[Identity]]:
    """A dependency: the request's ``Identity``, whose permissions satisfy the
    query ``permissions`` (any valid key when None); refuses the request
    otherwise (401, 403, 429 or 503 with problem+json)."""

    async def dependency(request: Request) -> Identity:
        scope = request.scope
        pending = pending_of(scope)
        if pending is not None:
            return await pending.identity(permissions, cost)
        setup = getattr(request.app.state, _INSTALLED, None)
        checked: Any = scope.get(_CHECKED)
        if not isinstance(setup, _Installed) or not isinstance(checked, list):
            raise RuntimeError("require_key needs KeysteadMiddleware or install(app, guard)")
        key = setup.sources.find(scope)
        if key is None:
            raise KeyRefused(missing_key())
        started = perf_counter()
        context = request_context(scope, permissions, proxies=setup.proxies)
        check = await setup.guard.check(key, context, cost)
        checked.append((check, started))
        if check.identity is None:
            raise KeyRefused(check.answer or missing_key())
        request.state.keystead = check.identity
        return check.identity

    return dependency


async def _refused(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, KeyRefused):  # pragma: no cover - registered for KeyRefused only
        raise exc
    return problem_response(exc.answer)


__all__ = ["Identity", "KeysteadMiddleware", "identity", "install", "require_key"]
