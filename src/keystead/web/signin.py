"""Sign-in and sign-out of the dashboard, entering and leaving the portal.

The sign-in and portal-enter forms are shown before any session exists: they
carry a double-submit token (the ``ks_csrf`` cookie and the ``csrf`` field),
so another site cannot sign a browser in with its own credential.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keystead.errors import KeysteadError, ValidationError
from keystead.service import Keystead
from keystead.web import templating
from keystead.web.errors import error_answer, public_message
from keystead.web.routing import WebRequest, action, html, read_form
from keystead.web.security import (
    CSRF_FIELD,
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    clear_cookie,
    is_secure,
    new_pre_session_token,
    safe_next,
    secure_headers,
    set_cookie,
    tokens_match,
)

BAD_FORM = "The form's security token is missing or wrong. Reload the page and retry."
EXPIRED = "Your session expired. Please sign in again."
REFUSED = "That root key was not accepted."
LINK_REFUSED = "This link has expired or was already used. Ask for a new one."


def _client(request: Request) -> tuple[str | None, str | None]:
    agent = request.headers.get("user-agent")
    return (None if request.client is None else request.client.host), (
        None if agent is None else agent[:512]
    )


def _with_pre_token(request: Request, template: str, status: int, **context: Any) -> Response:
    """Render a pre-session form with its double-submit token (reused when set)."""
    token = request.cookies.get(PRE_SESSION_COOKIE) or new_pre_session_token()
    body = templating.render(template, {"csrf": token, "signed_in": False, **context})
    response = html(body, status=status)
    set_cookie(
        response, PRE_SESSION_COOKIE, token, secure=is_secure(request, _ks(request).settings)
    )
    return response


def _ks(request: Request) -> Keystead:
    ks: Keystead = request.app.state.keystead
    return ks


async def _pre_checked(request: Request) -> dict[str, str] | None:
    """The form, when its double-submit token matches the cookie; else None."""
    form = await read_form(request)
    given = form.get(CSRF_FIELD)
    if not tokens_match(
        request.cookies.get(PRE_SESSION_COOKIE), given if isinstance(given, str) else None
    ):
        return None
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def sign_in_page(request: Request) -> Response:
    """GET /ui/sign-in: the form (a signed-in browser goes straight on)."""
    nxt = safe_next(request.query_params.get("next"))
    token = request.cookies.get(SESSION_COOKIE["ui"])
    if token and await _ks(request).web_sessions.resume(token, area="ui") is not None:
        return secure_headers(RedirectResponse(nxt, status_code=303))
    expired = request.query_params.get("expired") == "1"
    response = _with_pre_token(
        request, "sign_in.html", 200, next=nxt, notice=EXPIRED if expired else None
    )
    if expired and token:
        clear_cookie(
            response, SESSION_COOKIE["ui"], secure=is_secure(request, _ks(request).settings)
        )
    return response


async def sign_in(request: Request) -> Response:
    """POST /ui/sign-in: exchange a root key for a session cookie, 303 to ``next``."""
    form = await _pre_checked(request)
    if form is None:
        return error_answer(request, 403, BAD_FORM)
    nxt = safe_next(form.get("next"))
    credential = form.get("root_key", "").strip()
    ks = _ks(request)
    ip, agent = _client(request)
    try:
        if not credential:
            raise ValidationError("Enter a root key.", field="root_key")
        token, _session = await ks.web_sessions.sign_in(credential, ip=ip, user_agent=agent)
    except KeysteadError as exc:
        message = REFUSED if exc.status == 401 else public_message(exc)
        page = _with_pre_token(request, "sign_in.html", exc.status, next=nxt, error=message)
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after > 0:
            page.headers["retry-after"] = str(max(1, math.ceil(retry_after)))
        return page
    response = secure_headers(RedirectResponse(nxt, status_code=303))
    secure = is_secure(request, ks.settings)
    set_cookie(response, SESSION_COOKIE["ui"], token, secure=secure)
    clear_cookie(response, PRE_SESSION_COOKIE, secure=secure)
    return response


@action("/ui/sign-out")
async def sign_out(req: WebRequest) -> Response:
    return await _sign_out(req, "ui", "/ui/sign-in")


@action("/portal/sign-out", area="portal")
async def portal_sign_out(req: WebRequest) -> Response:
    return await _sign_out(req, "portal", req.session.return_url or "/portal/enter")


async def _sign_out(req: WebRequest, area: str, target: str) -> Response:
    token = req.request.cookies.get(SESSION_COOKIE[area])
    if token:
        await req.ks.web_sessions.sign_out(token)
    response = secure_headers(RedirectResponse(target, status_code=303))
    clear_cookie(response, SESSION_COOKIE[area], secure=is_secure(req.request, req.ks.settings))
    return response


async def enter_page(request: Request) -> Response:
    """GET /portal/enter?token=...: a form that posts the one-time token (it
    submits itself; the GET alone spends nothing, so link previews are harmless)."""
    token = request.query_params.get("token", "").strip()
    if not token:
        return error_answer(request, 400, "This link is incomplete.", area="portal")
    return _with_pre_token(request, "portal/enter.html", 200, token=token, area="portal")


async def enter(request: Request) -> Response:
    """POST /portal/enter: redeem the link, set ``ks_portal``, 303 to /portal/."""
    form = await _pre_checked(request)
    if form is None:
        return error_answer(request, 403, BAD_FORM, area="portal")
    ks = _ks(request)
    ip, agent = _client(request)
    try:
        token, _session = await ks.web_sessions.redeem_portal_link(
            form.get("token", ""), ip=ip, user_agent=agent
        )
    except KeysteadError as exc:
        message = LINK_REFUSED if exc.status == 401 else public_message(exc)
        return error_answer(request, exc.status, message, area="portal")
    response = secure_headers(RedirectResponse("/portal/", status_code=303))
    secure = is_secure(request, ks.settings)
    set_cookie(response, SESSION_COOKIE["portal"], token, secure=secure)
    clear_cookie(response, PRE_SESSION_COOKIE, secure=secure)
    return response


PUBLIC = {
    ("GET", "/ui/sign-in"): sign_in_page,
    ("HEAD", "/ui/sign-in"): sign_in_page,
    ("POST", "/ui/sign-in"): sign_in,
    ("GET", "/portal/enter"): enter_page,
    ("HEAD", "/portal/enter"): enter_page,
    ("POST", "/portal/enter"): enter,
}
"""Pages served without a session."""
