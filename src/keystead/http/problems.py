"""RFC 9457 problem details: every error the HTTP API answers is ``application/problem+json``.

One shape for all of them::

    {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no key 'key_...'"}

With ``type`` ``about:blank``, RFC 9457 makes ``title`` the HTTP status phrase, so it
always is; what went wrong is said in ``detail``.
plus ``field`` (where the service knows it), ``position`` (a permission query that does
not parse) and ``errors`` (request validation: one entry per failing location). Error
details never echo a submitted value back: a field that failed may have held a key.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from keystead.core.answers import status_phrase
from keystead.core.keyformat import redact_keys
from keystead.core.secrets import SecretVersionGone
from keystead.errors import (
    ConfigurationError,
    KeysteadError,
    PermissionQueryError,
    TooManyAttempts,
    ValidationError,
)
from keystead.http.secret_views import gone_extra

PROBLEM_JSON = "application/problem+json"
GENERIC_500 = "the server could not complete the request; the error has been logged"

log = logging.getLogger("keystead.http")


def problem_body(status: int, detail: str, **extra: Any) -> bytes:
    """The body; a key-shaped text in ``detail`` is redacted (a key pasted as an id)."""
    body: dict[str, Any] = {"type": "about:blank", "title": status_phrase(status), "status": status}
    body["detail"] = redact_keys(detail)
    body.update({k: v for k, v in extra.items() if v is not None})
    return orjson.dumps(body)


def problem(
    status: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response (``title`` is the status phrase)."""
    all_headers = dict(headers or {})
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", "Bearer")
    return Response(
        problem_body(status, detail, **extra),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=all_headers,
    )


_UNAVAILABLE: dict[str, int] = {}
"""How many answers each kind of unavailable dependency has had (for the log)."""


MASTER_KEY_UNAVAILABLE = (
    "the master key is unavailable, so no secret can be sealed or opened; the operator "
    "must restore it (KEYSTEAD_MASTER_KEY_URL, 'keystead master-key status')"
)
_KEYRING_MODULES = ("keystead.keyring", "keystead.service.master_keys")


def raised_by_keyring(exc: BaseException) -> bool:
    """Whether ``exc`` was raised in the keyring (missing, unreadable or wrong key
    material) rather than by any other configuration check."""
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith(_KEYRING_MODULES):
            return True
        tb = tb.tb_next
    return False


def from_keystead_error(exc: KeysteadError) -> Response:
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationError):
        extra["field"] = exc.field
    if isinstance(exc, PermissionQueryError):
        extra["position"] = exc.position
    if isinstance(exc, SecretVersionGone):
        extra.update(gone_extra(exc))
    if isinstance(exc, ConfigurationError) and raised_by_keyring(exc):
        # a service that cannot reach its master key: unavailable, not a bug
        seen = _UNAVAILABLE["master key"] = _UNAVAILABLE.get("master key", 0) + 1
        if seen % 1000 == 1:
            log.error("master key unavailable (%d times so far): %s", seen, exc.detail)
        return problem(503, MASTER_KEY_UNAVAILABLE)
    if exc.status >= 500 and exc.status != 503:
        # configuration and other server faults: the detail is for the operator only
        log.error("server error: %s: %s", type(exc).__name__, exc.detail)
        return problem(exc.status, GENERIC_500)
    if exc.public_detail is not None:
        # a dependency's own words (an address, an OS error) go to the log only: the
        # first time and every thousandth, as a dependency down fails every request
        seen = _UNAVAILABLE[exc.title] = _UNAVAILABLE.get(exc.title, 0) + 1
        if seen % 1000 == 1:
            log.warning("%s (%d times so far): %s", exc.title, seen, exc.detail)
        return problem(exc.status, exc.public_detail, **extra)
    if isinstance(exc, TooManyAttempts) and exc.retry_after is not None:
        wait = str(max(1, math.ceil(exc.retry_after)))
        return problem(exc.status, exc.detail, headers={"Retry-After": wait}, **extra)
    return problem(exc.status, exc.detail, **extra)


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI errors reduced to ``loc``, ``msg`` and ``type``: never the input."""
    out: list[dict[str, Any]] = []
    for error in errors:
        loc = [p if isinstance(p, int) else redact_keys(str(p)) for p in error.get("loc", ())]
        out.append({"loc": loc, "msg": str(error.get("msg", "")), "type": error.get("type", "")})
    return out


def from_validation_errors(errors: Sequence[Any]) -> Response:
    """422 naming each failing location; 400 when the body is not JSON at all."""
    if any(error.get("type") == "json_invalid" for error in errors):
        return problem(400, "the request body is not valid JSON")
    if any(_is_raw_body(error) for error in errors):
        return problem(415, "send the request body as JSON with 'Content-Type: application/json'")
    cleaned = validation_errors(errors)
    first = cleaned[0] if cleaned else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"]) or "request"
    more = f" (and {len(cleaned) - 1} more)" if len(cleaned) > 1 else ""
    return problem(
        422,
        f"{where}: {first['msg']}{more}",
        errors=cleaned,
    )


def _is_raw_body(error: Mapping[str, Any]) -> bool:
    """FastAPI hands a body that was not sent as JSON to validation as raw bytes."""
    loc = tuple(error.get("loc", ()))
    return len(loc) == 1 and loc[0] == "body" and isinstance(error.get("input"), bytes)


async def _keystead_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KeysteadError)  # noqa: S101 - registered for this class only
    return from_keystead_error(exc)


async def _request_validation_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    return from_validation_errors(exc.errors())


async def _http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101
    status, headers = exc.status_code, dict(exc.headers or {})
    detail = exc.detail if isinstance(exc.detail, str) else ""
    if detail and detail.lower() != status_phrase(status).lower():
        pass  # raised with a detail of its own
    elif status == 404:
        detail = "no such route (the API is described at /docs)"
    elif status == 405:
        allowed = _allowed_methods(request)
        headers["Allow"] = ", ".join(allowed)
        detail = f"{request.method} is not allowed here; use {' or '.join(allowed)}"
    else:
        detail = f"the request was refused ({status_phrase(status)})"
    return problem(status, detail, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first)."""
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**request.scope, "method": ""})
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


async def unexpected_error_handler(_request: Request, _exc: Exception) -> Response:
    """Behind ``CatchAllMiddleware`` this only answers if that middleware itself fails."""
    return problem(500, GENERIC_500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(KeysteadError, _keystead_error_handler)
    app.add_exception_handler(RequestValidationError, _request_validation_handler)
    app.add_exception_handler(HTTPException, _http_exception_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)


__all__ = [
    "MASTER_KEY_UNAVAILABLE",
    "PROBLEM_JSON",
    "from_keystead_error",
    "from_validation_errors",
    "install",
    "problem",
    "problem_body",
    "raised_by_keyring",
    "validation_errors",
]
