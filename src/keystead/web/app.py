"""The ASGI entry of the browser face (``KeysteadAPI._serve`` sends ``/``,
``/ui...`` and ``/portal...`` here, before the FastAPI router).

A request goes: static file, or a public page (sign-in, portal enter), or a
registered route (``routing``): the session of the route's area is resumed from
its cookie (none: sign-in with ``?next=``; expired: sign-in saying so; the other
area's session: 403), an action's CSRF token is checked, then the handler runs.
Every answer carries the security headers (``security.SECURITY_HEADERS``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from keystead.core.ids import new_id
from keystead.errors import KeysteadError, StoreUnavailable
from keystead.events.audit import AuditOrigin, set_origin
from keystead.service import Keystead
from keystead.web import brand, pages, portal  # noqa: F401 - the decorators register
from keystead.web.errors import GENERIC, error_answer, from_error, public_message, unexpected
from keystead.web.routing import Area, WebRequest, WebRoute, csrf_token_given, resolve
from keystead.web.security import SESSION_COOKIE, secure_headers, tokens_match
from keystead.web.signin import PUBLIC
from keystead.web.static import serve_static
from keystead.web.templating import STATIC_PREFIX

if TYPE_CHECKING:
    from keystead.service.web_sessions import WebSession

PREFIXES = ("/ui", "/portal")
PORTAL_ONLY = "A portal session cannot open the dashboard."
DASHBOARD_ONLY = "A dashboard session cannot open the portal: use the link you were given."
NO_PORTAL = "This portal session has ended or the link was not opened. Ask for a new link."


def serves(path: str) -> bool:
    """Whether ``path`` belongs to the browser face."""
    if path == "/":
        return True
    return any(path == p or path.startswith(p + "/") for p in PREFIXES)


async def web_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one HTTP request of the browser face (``scope["app"]`` is the
    ``KeysteadAPI`` whose ``state.keystead`` is the service)."""
    request = Request(scope, receive)
    path = request.url.path
    root = scope.get("root_path")
    if root and path.startswith(root):
        path = path[len(root) :]
    response = await _answer(request, path)
    await response(scope, receive, send)


async def _answer(request: Request, path: str) -> Response:
    if path in ("/", "/ui"):
        return secure_headers(RedirectResponse("/ui/", status_code=307))
    if path == "/portal":
        return secure_headers(RedirectResponse("/portal/", status_code=307))
    if path.startswith(STATIC_PREFIX):
        return serve_static(request, path)
    area = "portal" if path.startswith("/portal") else "ui"
    try:
        ks: Keystead | None = getattr(request.app.state, "keystead", None)
        if ks is None:
            raise StoreUnavailable("the service is not running", safe=True)
        _audit_origin(request)
        public = PUBLIC.get((request.method, path))
        if public is not None:
            return await public(request)
        route, params, other_method = resolve(request.method, path)
        if route is None:
            status = 405 if other_method else 404
            message = "This address does not take that method." if other_method else ""
            return error_answer(request, status, message or "No page here.", area=area)
        return await _run(request, ks, route, params)
    except KeysteadError as exc:
        return from_error(request, exc, area=area, signed_in=False)
    except Exception:
        return unexpected(request, area=area)


async def _run(request: Request, ks: Keystead, route: WebRoute, params: dict[str, Any]) -> Response:
    session = await _resume(request, ks, route.area)
    if session == "other":
        message = PORTAL_ONLY if route.area == "ui" else DASHBOARD_ONLY
        return error_answer(request, 403, message, area=route.area)
    if isinstance(session, str):
        if route.area == "portal":
            return error_answer(request, 401, NO_PORTAL, area="portal")
        return _to_sign_in(request, route, expired=session == "expired")
    branding = await ks.web_sessions.branding(session.workspace_id)
    req = WebRequest(request, ks, session, branding, params)
    try:
        if route.kind == "action":
            given = await csrf_token_given(request)
            if not tokens_match(session.csrf_token, given):
                return error_answer(
                    request,
                    403,
                    "The form's security token is missing or wrong. Reload the page and retry.",
                    area=route.area,
                    signed_in=True,
                )
        if route.kind == "data":
            body = await route.handler(req)
            answer = Response(orjson.dumps(body), media_type="application/json")
            return secure_headers(answer)
        response: Response = await route.handler(req)
        return secure_headers(response)
    except KeysteadError as exc:
        if route.kind == "data":
            return _json_error(exc.status, public_message(exc))
        return from_error(request, exc, area=route.area, signed_in=True)
    except Exception:
        if route.kind == "data":
            unexpected(request, area=route.area)  # logged
            return _json_error(500, GENERIC)
        return unexpected(request, area=route.area)


def _json_error(status: int, message: str) -> Response:
    body = orjson.dumps({"error": message})
    return secure_headers(Response(body, status_code=status, media_type="application/json"))


async def _resume(request: Request, ks: Keystead, area: Area) -> WebSession | str:
    """The session of ``area``; else "other" (a live session of the other area),
    "expired" (a cookie that no longer resumes) or "none"."""
    token = request.cookies.get(SESSION_COOKIE[area])
    if token:
        session = await ks.web_sessions.resume(token, area=area)
        if session is not None:
            return session
    other: Area = "portal" if area == "ui" else "ui"
    other_token = request.cookies.get(SESSION_COOKIE[other])
    if other_token and await ks.web_sessions.resume(other_token, area=other) is not None:
        return "other"
    return "expired" if token else "none"


def _to_sign_in(request: Request, route: WebRoute, *, expired: bool) -> Response:
    """303 to the sign-in page with ``?next=`` (pages only) and ``expired=1``;
    htmx follows ``HX-Redirect``; chart data gets a JSON 401."""
    if route.kind == "data":
        return _json_error(401, "session expired" if expired else "not signed in")
    target = "/ui/sign-in"
    query = []
    if route.kind == "page" and "hx-request" not in request.headers:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query.append("next=" + quote(here, safe=""))
    if expired:
        query.append("expired=1")
    if query:
        target += "?" + "&".join(query)
    if "hx-request" in request.headers:
        return secure_headers(Response(status_code=204, headers={"hx-redirect": target}))
    return secure_headers(RedirectResponse(target, status_code=303))


def _audit_origin(request: Request) -> None:
    user_agent = request.headers.get("user-agent")
    set_origin(
        AuditOrigin(
            ip=None if request.client is None else request.client.host,
            user_agent=None if user_agent is None else user_agent[:512],
            request_id=new_id("req", time.time()),
        )
    )


__all__ = ["serves", "web_asgi"]
