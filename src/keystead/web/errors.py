"""Error answers of the browser face: a page, or for htmx a ``#flash`` fragment."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from keystead.core import keyformat
from keystead.errors import KeysteadError
from keystead.web import templating
from keystead.web.security import secure_headers

log = logging.getLogger("keystead.web")

TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Unavailable",
}
GENERIC = "An unexpected error occurred. It has been logged; please try again."


def public_message(exc: KeysteadError) -> str:
    """What the page may say: the public detail, or the detail of a 4xx error
    (a 5xx detail can carry a driver's text and stays in the logs)."""
    if exc.public_detail is not None:
        return exc.public_detail
    if exc.status < 500:
        return exc.detail
    return TITLES.get(exc.status, "Unavailable") + ": please try again shortly."


def error_answer(
    request: Request, status: int, message: str, *, area: str = "ui", signed_in: bool = False
) -> Response:
    """The error page, or a ``<div role="alert">`` swapped into ``#flash`` for htmx."""
    title = TITLES.get(status, "Error")
    if "hx-request" in request.headers:
        body = templating.render("_flash.html", {"kind": "error", "message": message})
        headers = {"hx-retarget": "#flash", "hx-reswap": "innerHTML"}
        return secure_headers(HTMLResponse(body, status_code=status, headers=headers))
    context = {
        "status": status,
        "title": title,
        "message": message,
        "area": area,
        "signed_in": signed_in,
        "layout": "portal/base.html" if area == "portal" else "base.html",
    }
    body = templating.render("error.html", context)
    return secure_headers(HTMLResponse(body, status_code=status))


def from_error(request: Request, exc: KeysteadError, *, area: str, signed_in: bool) -> Response:
    if exc.status >= 500:
        log.warning(
            "%s answering %s %s: %s",
            type(exc).__name__,
            request.method,
            keyformat.redact_keys(request.url.path),
            exc.detail,
        )
    return error_answer(request, exc.status, public_message(exc), area=area, signed_in=signed_in)


def unexpected(request: Request, *, area: str) -> Response:
    log.exception(
        "unhandled error answering %s %s", request.method, keyformat.redact_keys(request.url.path)
    )
    return error_answer(request, 500, GENERIC, area=area)
