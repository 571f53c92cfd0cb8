"""The ASGI application: ``create_app()`` for uvicorn, tests and embedding.

Routes are added to the app flat (not through ``include_router``), so
``app.routes`` lists every ``APIRoute``: the route security test walks them.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from keystead import __version__
from keystead.config import Settings
from keystead.errors import StoreUnavailable
from keystead.http import (
    alerts,
    analytics,
    apis,
    audit,
    events,
    incidents,
    key_actions,
    key_import,
    keys,
    leak_exposure,
    leaks,
    limits,
    metrics,
    oauth,
    owners,
    pickups,
    plans,
    portal,
    problems,
    root_keys,
    secret_lifecycle,
    secret_mounts,
    secrets,
    server_secret,
    tokens,
    usage_reports,
    verify,
    webhooks,
    wellknown,
)
from keystead.http.access_log import PROBES, AccessLog
from keystead.http.fastpath import FastRoutes, guarded, request_endpoint
from keystead.http.middleware import BodyLimitMiddleware, CatchAllMiddleware
from keystead.http.openapi import use_problem_media_type
from keystead.http.vault import PREFIX as VAULT_PREFIX
from keystead.http.vault import vault_asgi
from keystead.http.views import Health
from keystead.service import Keystead
from keystead.service.heap import freeze_startup_heap
from keystead.web.app import serves as web_serves
from keystead.web.app import web_asgi

DESCRIPTION = """\
Issue, verify and manage API keys.

Authenticate management calls with a root key: `Authorization: Bearer ksroot_...`.
Every error is `application/problem+json` (RFC 9457). Date-times are UTC ISO 8601
with a `Z` suffix. See docs/api.md for the full guide.
"""


class InflightSignal(Protocol):
    """Counts the requests in flight (``LoadShedder``)."""

    def enter(self) -> None: ...
    def leave(self) -> None: ...


class KeysteadAPI(FastAPI):
    """FastAPI, with errors documented as ``application/problem+json`` and a fast
    path for its hot routes (``POST /v1/keys/verify``, the token exchange and the
    OAuth endpoints).

    The fast path serves them with only the body limit and the last-resort 500,
    in one call (``keystead.http.fastpath``): no router, no FastAPI middleware
    stack, no native telemetry.
    Middleware added with ``add_middleware`` therefore does not see those requests;
    wrap the app instead if it must (an outer ASGI app sees everything).

    When the service sheds load on requests in flight, ``inflight`` is its
    ``LoadShedder`` and every HTTP request, verify included, is counted from the
    outermost layer; otherwise it is None and costs one attribute read.

    ``access_log`` writes the access log (``KEYSTEAD_ACCESS_LOG``,
    :mod:`keystead.http.access_log`); None when it is off.
    """

    fast_routes: FastRoutes = {}  # noqa: RUF012 - replaced per app, never mutated
    """``(method, path)`` to the app serving it before the router (``create_app``)."""
    vault: ASGIApp | None = None
    """The Vault face (``keystead.http.vault``): every path under ``/vault``."""
    web: ASGIApp | None = None
    """The browser face (``keystead.web``): ``/``, ``/ui...`` and ``/portal...``."""
    inflight: InflightSignal | None = None
    access_log: AccessLog | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        path = scope["path"]
        root = scope.get("root_path")
        if root and path.startswith(root):
            path = path[len(root) :]
        route = (scope["method"], path)
        fast = self.fast_routes.get(route)
        inflight = self.inflight
        if fast is not None and inflight is None:  # the hot path: one call, no wrapper
            scope["app"] = self
            await fast(scope, receive, send)
            return
        if inflight is None:
            await self._serve(scope, receive, send, path, fast)
            return
        inflight.enter()
        try:
            await self._serve(scope, receive, send, path, fast)
        finally:
            inflight.leave()

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, path: str, fast: ASGIApp | None
    ) -> None:
        if fast is not None:  # it reports its status to the access log itself
            scope["app"] = self
            await fast(scope, receive, send)
            return
        access = self.access_log
        if access is not None:
            send = access.watch(scope, send, routine=(scope["method"], path) in PROBES)
        vault = self.vault
        if (
            vault is not None
            and path.startswith(VAULT_PREFIX)
            and (len(path) == len(VAULT_PREFIX) or path[len(VAULT_PREFIX)] == "/")
        ):
            scope["app"] = self
            await vault(scope, receive, send)
            return
        web = self.web
        if web is not None and web_serves(path):
            scope["app"] = self
            await web(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        return use_problem_media_type(super().openapi())


def create_app(keystead: Keystead | None = None, *, settings: Settings | None = None) -> FastAPI:
    """The HTTP API over ``keystead``; without one, the lifespan opens one from
    ``settings`` (default: ``KEYSTEAD_*`` environment) and closes it on shutdown.
    A ``keystead`` passed in stays the caller's to close."""
    if settings is None:
        settings = keystead.settings if keystead is not None else Settings()
    opened_settings = settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if keystead is not None:
            yield
            return
        ks = await Keystead.open(settings=opened_settings)
        ks.start_scheduler()
        await ks.start_dispatcher()
        app.state.keystead = ks
        if isinstance(app, KeysteadAPI):
            app.inflight = inflight_signal(ks)
        freeze_startup_heap(tune=ks.settings.gc_tuning)
        try:
            yield
        finally:
            if isinstance(app, KeysteadAPI):
                app.inflight = None
            app.state.keystead = None
            await ks.close()

    app = KeysteadAPI(
        title="Keystead",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        strict_content_type=False,  # no Content-Type: parse as JSON; a non-JSON one is a 415
        middleware=[
            Middleware(CatchAllMiddleware),
            Middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes),
        ],
    )
    app.state.keystead = keystead
    app.inflight = None if keystead is None else inflight_signal(keystead)
    app.fast_routes = fast_routes(settings.max_body_bytes)
    app.access_log = AccessLog.for_mode(settings.access_log)
    app.vault = functools.partial(vault_asgi, max_body_bytes=settings.max_body_bytes)
    app.web = web_asgi
    problems.install(app)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["health"], summary="Liveness")
    app.add_route("/metrics", metrics.metrics, methods=["GET"], include_in_schema=False)
    routers = (
        verify.router,
        apis.router,
        key_import.router,
        keys.router,
        limits.router,
        plans.router,
        webhooks.router,
        audit.router,
        analytics.router,
        alerts.router,
        events.router,
        usage_reports.router,
        server_secret.router,
    )
    custody = (
        pickups.router,
        key_actions.router,
        incidents.router,
        leaks.router,
        leak_exposure.router,
    )
    stored = (secret_mounts.router, secrets.router, secret_lifecycle.router)
    for router in (*routers, owners.router, root_keys.router, *custody, *stored, portal.router):
        app.router.routes.extend(router.routes)
    app.router.routes.extend(leaks.github_router.routes)  # signed by GitHub: no root key
    app.router.routes.extend(tokens.router.routes)
    # authenticated by an API key, or by nothing at all (public documents)
    for public in (tokens.exchange_router, oauth.router, wellknown.router):
        app.router.routes.extend(public.routes)
    return app


def fast_routes(max_body_bytes: int) -> FastRoutes:
    """The hot routes, served before the router; each also has its routed twin
    (documented in OpenAPI, and serving it when this table is emptied)."""
    served: FastRoutes = {
        ("POST", tokens.PATH): request_endpoint(tokens.exchange),
        ("POST", oauth.TOKEN_PATH): request_endpoint(oauth.token),
        ("POST", oauth.INTROSPECT_PATH): request_endpoint(oauth.introspect),
        ("POST", oauth.REVOKE_PATH): request_endpoint(oauth.revoke),
    }
    guarded_routes = {
        route: guarded(app, max_body_bytes=max_body_bytes) for route, app in served.items()
    }
    # verify applies the body limit and the last-resort 500 itself (no layer around it)
    return {("POST", verify.PATH): verify.verify_route(max_body_bytes), **guarded_routes}


def inflight_signal(ks: Keystead) -> InflightSignal | None:
    """The service's load shedder when it counts requests in flight, else None."""
    shedder = ks.shedder
    return shedder if shedder.enabled else None


async def healthz(request: Request) -> Health:
    """200 ``{"status": "ok"}`` while the service is open and its store answers; 503
    otherwise. Needs no root key."""
    ks = getattr(request.app.state, "keystead", None)
    if ks is None:
        raise StoreUnavailable("the service is not running", safe=True)
    await ks.ping()
    return Health(status="ok")


__all__ = ["InflightSignal", "KeysteadAPI", "create_app", "fast_routes", "inflight_signal"]
