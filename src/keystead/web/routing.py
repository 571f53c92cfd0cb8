"""The page contract every dashboard and portal module codes against.

A module decorates async handlers taking a ``WebRequest``::

    @page("/ui/keys/{key_id}")
    async def key_detail(req: WebRequest) -> Response:
        key = await req.ks.keys.get(req.principal, req.path("key_id"))
        return req.render("ui/keys/detail.html", key=key)

``page`` is GET (and HEAD), ``action`` is POST with the CSRF token checked before
the handler runs, ``data`` is GET answering JSON for charts. ``keystead.web.app``
resolves the session of the route's area first (none: sign-in; another area's:
403), so a handler always has a principal. A ``KeysteadError`` escaping a handler
becomes the error page (or a ``#flash`` fragment for htmx requests).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

from starlette.convertors import Convertor
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import compile_path

from keystead.core.authz import Principal
from keystead.errors import PayloadTooLarge, ValidationError
from keystead.service import Keystead
from keystead.web import templating
from keystead.web.nav import nav_for
from keystead.web.security import CSRF_FIELD, secure_headers

if TYPE_CHECKING:
    from keystead.service.web_sessions import Branding, WebSession

Area = Literal["ui", "portal"]
Kind = Literal["page", "action", "data"]
MAX_FORM_BYTES = 1_048_576
FORM_TYPE = "application/x-www-form-urlencoded"


class WebRequest:
    """One browser request with its session (see the module docstring)."""

    __slots__ = ("_params", "branding", "csrf", "ks", "principal", "request", "session")

    def __init__(
        self,
        request: Request,
        ks: Keystead,
        session: WebSession,
        branding: Branding,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.request = request
        self.ks = ks
        self.session = session
        self.principal: Principal = session.principal
        self.csrf: str = session.csrf_token
        self.branding = branding
        self._params = params or {}

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        """``template`` with ``context`` plus ``req``, ``principal``, ``csrf``,
        ``branding``, ``nav`` and ``area``; security headers, ``no-store``."""
        base: dict[str, Any] = {
            "req": self,
            "principal": self.principal,
            "csrf": self.csrf,
            "branding": self.branding,
            "area": self.session.area,
            "nav": nav_for(self.principal) if self.session.area == "ui" else [],
            "current_path": self.request.url.path,
        }
        base.update(context)
        return html(templating.render(template, base), status=status)

    async def form(self) -> FormData:
        """The URL-encoded body (read once, then cached). For actions the CSRF
        check has already read and accepted it."""
        return await read_form(self.request)

    def query(self, name: str) -> str | None:
        value = self.request.query_params.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def path(self, name: str) -> str:
        return str(self._params[name])

    def redirect(self, url: str) -> Response:
        """303 to ``url``; an htmx request gets ``HX-Redirect`` (htmx follows it)."""
        if self.htmx:
            return secure_headers(Response(status_code=204, headers={"hx-redirect": url}))
        return secure_headers(RedirectResponse(url, status_code=303))

    @property
    def htmx(self) -> bool:
        return "hx-request" in self.request.headers


def html(body: str, *, status: int = 200) -> HTMLResponse:
    return secure_headers(HTMLResponse(body, status_code=status))


_FORM_KEY = "keystead.web.form"


async def read_form(request: Request) -> FormData:
    """Parse a URL-encoded body (at most ``MAX_FORM_BYTES``); cached in the scope.
    Another content type is a ValidationError (our forms never send multipart)."""
    cached: FormData | None = request.scope.get(_FORM_KEY)
    if cached is not None:
        return cached
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = b""
    if request.method == "POST":
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_FORM_BYTES:
                raise PayloadTooLarge("the form is too large")
            chunks.append(chunk)
        body = b"".join(chunks)
    if body and content_type != FORM_TYPE:
        raise ValidationError(f"forms must be sent as {FORM_TYPE}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("the form is not valid UTF-8") from exc
    try:
        parsed = parse_qsl(text, keep_blank_values=True, max_num_fields=1000)
    except ValueError as exc:
        raise ValidationError("the form has too many fields") from exc
    pairs: list[tuple[str, str | UploadFile]] = list(parsed)
    form = FormData(pairs)
    request.scope[_FORM_KEY] = form
    return form


async def csrf_token_given(request: Request) -> str | None:
    """The CSRF token the request carries: the ``X-CSRF-Token`` header, else the
    ``csrf`` form field."""
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    value = (await read_form(request)).get(CSRF_FIELD)
    return value if isinstance(value, str) else None


Handler = Callable[[WebRequest], Awaitable[Response]]
DataHandler = Callable[[WebRequest], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class WebRoute:
    method: str
    path: str
    area: Area
    kind: Kind
    handler: Callable[[WebRequest], Awaitable[Any]]
    regex: re.Pattern[str] = field(repr=False)
    convertors: dict[str, Convertor[Any]] = field(repr=False)

    def match(self, path: str) -> dict[str, Any] | None:
        found = self.regex.match(path)
        if found is None:
            return None
        return {
            name: self.convertors[name].convert(value) for name, value in found.groupdict().items()
        }


ROUTES: list[WebRoute] = []
"""Every registered page, action and data route, in registration order."""


def _register(method: str, path: str, area: Area, kind: Kind) -> Callable[[Any], Any]:
    prefix = "/ui" if area == "ui" else "/portal"
    if not (path == prefix or path.startswith(prefix + "/")):
        raise ValueError(f"a {area} route must live under {prefix}: {path}")

    def decorate(handler: Any) -> Any:
        if any(r.method == method and r.path == path for r in ROUTES):
            raise ValueError(f"{method} {path} is registered twice")
        regex, _format, convertors = compile_path(path)
        ROUTES.append(WebRoute(method, path, area, kind, handler, regex, convertors))
        return handler

    return decorate


def page(path: str, *, area: Area = "ui") -> Callable[[Handler], Handler]:
    """GET (and HEAD) page; no session -> sign-in (``?next=``), expired -> sign-in
    saying so."""
    return _register("GET", path, area, "page")


def action(path: str, *, area: Area = "ui") -> Callable[[Handler], Handler]:
    """POST; session and CSRF token (header or ``csrf`` field, constant time) are
    checked before the handler: a bad token is a 403 page and nothing runs."""
    return _register("POST", path, area, "action")


def data(path: str, *, area: Area = "ui") -> Callable[[DataHandler], DataHandler]:
    """GET JSON for charts: the handler's dict is answered as application/json."""
    return _register("GET", path, area, "data")


def resolve(method: str, path: str) -> tuple[WebRoute | None, dict[str, Any], bool]:
    """The route for ``method path`` with its parameters; the flag says whether
    the path exists under another method (405)."""
    wanted = "GET" if method == "HEAD" else method
    other = False
    for route in ROUTES:
        params = route.match(path)
        if params is None:
            continue
        if route.method == wanted:
            return route, params, False
        other = True
    return None, {}, other


__all__ = [
    "ROUTES",
    "DataHandler",
    "Handler",
    "WebRequest",
    "WebRoute",
    "action",
    "csrf_token_given",
    "data",
    "html",
    "page",
    "read_form",
    "resolve",
]
