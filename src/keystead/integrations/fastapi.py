"""FastAPI: a dependency that gives a route the caller's verified key::

    app = FastAPI()
    app.add_middleware(KeysteadMiddleware, guard=Embedded())

    @app.get("/documents")
    async def documents(key: Identity = Depends(require_key("documents.read"))): ...

``require_key`` works with ``KeysteadMiddleware`` (which verifies, strips the
key and completes usage after the response) or without it, after
``install(app, guard)``: it then verifies by itself and completes the usage
record (without the response's status and sizes) when the route is done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from time import perf_counter

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from keystead.integrations.asgi import KeysteadMiddleware, pending_of
from keystead.integrations.context import TrustedProxies, request_context
from keystead.integrations.credentials import KeySources
from keystead.integrations.guard import Guard, Served
from keystead.integrations.identity import Identity
from keystead.integrations.refusal import KeyRefused, missing_key
from keystead.integrations.starlette import identity, problem_response

_INSTALLED = "keystead_installed"


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
    """Let ``require_key`` verify without the middleware: keep the guard and
    answer its refusals with problem+json. (The credential then stays in the
    request: the middleware is what removes it.)"""
    setattr(app.state, _INSTALLED, _Installed(guard, sources or KeySources(), proxies))
    app.add_exception_handler(KeyRefused, _refused)


def require_key(
    permissions: str | None = None, *, cost: int | None = None
) -> Callable[[Request], AsyncIterator[Identity]]:
    """A dependency: the request's ``Identity``, whose permissions satisfy the
    query ``permissions`` (any valid key when None); refuses the request
    otherwise (401, 403, 429 or 503 with problem+json)."""

    async def dependency(request: Request) -> AsyncIterator[Identity]:
        pending = pending_of(request.scope)
        if pending is not None:
            yield await pending.identity(permissions, cost)
            return
        setup = getattr(request.app.state, _INSTALLED, None)
        if not isinstance(setup, _Installed):
            raise RuntimeError("require_key needs KeysteadMiddleware or install(app, guard)")
        key = setup.sources.find(request.scope)
        if key is None:
            raise KeyRefused(missing_key())
        started = perf_counter()
        guard = setup.guard
        context = request_context(request.scope, permissions, proxies=setup.proxies)
        check = await guard.check(key, context, cost)
        if check.identity is None:
            await guard.finish(check, Served(None, 0.0))
            raise KeyRefused(check.answer or missing_key())
        request.state.keystead = check.identity
        try:
            yield check.identity
        finally:
            await guard.finish(check, Served(None, (perf_counter() - started) * 1000))

    return dependency


async def _refused(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, KeyRefused):  # pragma: no cover - registered for KeyRefused only
        raise exc
    return problem_response(exc.answer)


__all__ = ["Identity", "KeysteadMiddleware", "identity", "install", "require_key"]
