"""``/oauth``: OAuth 2.0 client credentials (RFC 6749 section 4.4), token introspection
(RFC 7662) and revocation (RFC 7009): a thin translation onto ``Keystead.tokens``.

Requests are form-encoded (``application/x-www-form-urlencoded``), bounded to
``MAX_FORM_BYTES``; a parameter sent twice is an ``invalid_request`` and an empty one
counts as absent (RFC 6749 section 3.2). The client is an API key: ``client_id`` is
its id and ``client_secret`` the key, sent with HTTP Basic (``client_secret_basic``,
both parts form-encoded before base64, section 2.3.1) or in the body
(``client_secret_post``); both at once is an ``invalid_request``. Every error is
section 5.2's JSON ``{"error", "error_description"}``: ``invalid_client`` is a 401 with
``WWW-Authenticate``, the others a 400. Answers are never cached (``no-store``).
"""

from __future__ import annotations

import binascii
import logging
from base64 import b64decode
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson
from fastapi import APIRouter, Request, Response
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope

from keystead.core.answers import ratelimit_headers
from keystead.core.authz import Principal
from keystead.core.models import VerifyContext
from keystead.errors import ConfigurationError, KeysteadError, StoreUnavailable, Unauthorized
from keystead.http.auth import bearer_token, caller_of_scope, keystead_of_scope
from keystead.http.fastpath import HeaderSnapshot, JsonAnswer, read_body
from keystead.http.problems import GENERIC_500, MASTER_KEY_UNAVAILABLE, raised_by_keyring
from keystead.http.token_schemas import OAuthErrorOut, OAuthTokenOut
from keystead.service import Keystead
from keystead.service.tokens import OAuthError

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path
INTROSPECT_PATH = "/oauth/introspect"
REVOKE_PATH = "/oauth/revoke"
FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 16_384
"""A token (8 KiB at most) and its client credentials fit with room to spare."""
MAX_FIELDS = 16
MAX_CLIENT_ID = 256
MAX_SECRET = 1024
MAX_SCOPES = 256
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
BASIC_CHALLENGE = 'Basic realm="keystead"'
BEARER_CHALLENGE = 'Bearer realm="keystead"'
TOO_LARGE = f"the body is larger than {MAX_FORM_BYTES} bytes"
_HEADERS = frozenset((b"authorization", b"content-type", b"content-length", b"user-agent"))
_NO_STORE_RAW = ((b"cache-control", b"no-store"), (b"pragma", b"no-cache"))

log = logging.getLogger("keystead.http")
router = APIRouter(tags=["oauth"])


def oauth_error(error: str, description: str, status: int | None = None) -> OAuthError:
    return OAuthError(error, description, status)


def error_answer(
    exc: OAuthError, *, challenge: str = BASIC_CHALLENGE, now: float | None = None
) -> Response:
    """Section 5.2's JSON answer; a 401 carries ``WWW-Authenticate``, a key's limit
    that refused it (429, 503) ``Retry-After`` and the ``RateLimit`` headers."""
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = challenge
    if exc.verdict is not None:
        headers.update(ratelimit_headers(exc.verdict, now=now)[1])
    body = {"error": exc.error, "error_description": exc.description}
    return Response(orjson.dumps(body), exc.status, headers, media_type="application/json")


def as_oauth_error(exc: KeysteadError) -> OAuthError:
    """A service error in the protocol's words (never a 500 for bad input)."""
    if isinstance(exc, OAuthError):
        return exc
    if isinstance(exc, Unauthorized):
        return oauth_error("invalid_client", "the client could not be authenticated")
    if exc.status == 403:
        return oauth_error("insufficient_scope", exc.detail, 403)
    if isinstance(exc, ConfigurationError) and raised_by_keyring(exc):
        return oauth_error("temporarily_unavailable", MASTER_KEY_UNAVAILABLE, 503)
    if isinstance(exc, StoreUnavailable) or exc.status in (429, 503):
        detail = exc.public_detail or exc.detail
        return oauth_error("temporarily_unavailable", detail, exc.status)
    if exc.status >= 500:
        log.error("server error: %s: %s", type(exc).__name__, exc.detail)
        return oauth_error("server_error", GENERIC_500, 500)
    return oauth_error("invalid_request", exc.detail)


class OAuthCall:
    """One request to an OAuth endpoint: the headers it reads, its client address and
    its form, read once from the ASGI scope."""

    __slots__ = ("authorization", "headers", "ip", "receive")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.headers = HeaderSnapshot(scope, _HEADERS)
        self.authorization = self.headers.get(b"authorization", "") or ""
        client = scope.get("client")
        self.ip: str | None = None if client is None else client[0]
        self.receive = receive

    def context(self) -> VerifyContext:
        return VerifyContext(ip=self.ip, user_agent=self.headers.get(b"user-agent"))

    async def form(self) -> dict[str, str]:
        """The parameters of a form-encoded body: each at most once, empty ones dropped."""
        media = (self.headers.get(b"content-type") or "").partition(";")[0].strip().lower()
        if media != FORM:
            raise oauth_error("invalid_request", f"send the parameters as {FORM}")
        length = self.headers.get(b"content-length") or ""
        if length.isdigit() and int(length) > MAX_FORM_BYTES:
            raise oauth_error("invalid_request", TOO_LARGE)
        try:
            body = await read_body(self.receive, limit=MAX_FORM_BYTES)
        except HTTPException as exc:
            if exc.status_code != 413:
                raise
            raise oauth_error("invalid_request", TOO_LARGE) from None
        return parse_form(body)


def parse_form(body: bytes) -> dict[str, str]:
    """RFC 6749 appendix B: ASCII ``name=value`` pairs; each name once, no NUL,
    empty values dropped (section 3.2: an empty parameter counts as absent)."""
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise oauth_error("invalid_request", "the body is not a valid form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise oauth_error("invalid_request", f"the parameter '{name[:40]}' is sent twice")
        if "\x00" in value:
            raise oauth_error("invalid_request", "a parameter holds a NUL character")
        form[name] = value
    return {name: value for name, value in form.items() if value}


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = b64decode(value, validate=True).decode("utf-8")
        name, colon, secret = decoded.partition(":")
        if not colon:
            raise ValueError("no colon")
        return unquote_plus(name, errors="strict"), unquote_plus(secret, errors="strict")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        raise oauth_error("invalid_client", "the Basic credentials do not decode") from None


def client_of(authorization: str, form: Mapping[str, str]) -> tuple[str, str]:
    """(client_id, client_secret) from Basic or the body; exactly one method."""
    scheme, _, value = authorization.partition(" ")
    posted_id, posted_secret = form.get("client_id"), form.get("client_secret")
    if scheme.lower() == "basic":
        if posted_secret is not None:
            raise oauth_error(
                "invalid_request", "authenticate the client one way: Basic or client_secret"
            )
        client_id, secret = _basic(value.strip())
        if posted_id is not None and posted_id != client_id:
            raise oauth_error("invalid_request", "client_id differs from the Basic credentials")
    elif posted_secret is not None and posted_id is not None:
        client_id, secret = posted_id, posted_secret
    else:
        raise oauth_error(
            "invalid_client",
            "authenticate the client: HTTP Basic, or client_id and client_secret",
        )
    if not client_id or not secret or len(client_id) > MAX_CLIENT_ID or len(secret) > MAX_SECRET:
        raise oauth_error("invalid_client", "the client could not be authenticated")
    return client_id, secret


def scopes(scope: str | None) -> list[str] | None:
    """RFC 6749 section 3.3: space-delimited, case-sensitive, printable ASCII."""
    if scope is None:
        return None
    names = scope.split(" ")
    if len(names) > MAX_SCOPES or not all(_scope_token(name) for name in names):
        raise oauth_error("invalid_scope", "scope is space-separated permission names")
    return names


def _scope_token(name: str) -> bool:
    return bool(name) and all(c == "!" or "#" <= c <= "[" or "]" <= c <= "~" for c in name)


def _now(scope: Scope) -> float | None:
    """The service's clock (the one its verdicts were decided on), when it runs."""
    ks = getattr(scope["app"].state, "keystead", None)
    return None if ks is None else float(ks.clock.now())


def _ok(body: Mapping[str, Any]) -> Response:
    return JsonAnswer(orjson.dumps(body), 200, _NO_STORE_RAW)


async def token_answer(scope: Scope, receive: Receive) -> Response:
    """The token endpoint, from the scope: served before the router and by the route."""
    try:
        ks = keystead_of_scope(scope)
        call = OAuthCall(scope, receive)
        form = await call.form()
        grant = form.get("grant_type")
        if grant is None:
            raise oauth_error("invalid_request", "grant_type is required")
        if grant != "client_credentials":
            raise oauth_error("unsupported_grant_type", "only client_credentials is supported")
        client_id, secret = client_of(call.authorization, form)
        wanted = scopes(form.get("scope"))
        issued = await ks.tokens.client_credentials(client_id, secret, wanted, call.context())
    except KeysteadError as exc:
        return error_answer(as_oauth_error(exc), now=_now(scope))
    body = {
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": " ".join(issued.permissions),
    }
    return _ok(body)


async def _introspector(
    ks: Keystead, scope: Scope, call: OAuthCall, form: Mapping[str, str]
) -> Principal | tuple[str, str]:
    """An API key's client credentials (Basic or post) when sent, else the root key
    of ``Authorization: Bearer`` (or the in-process operator)."""
    if call.authorization.partition(" ")[0].lower() == "basic" or "client_secret" in form:
        return client_of(call.authorization, form)
    try:
        return await caller_of_scope(ks, scope, call.authorization)
    except Unauthorized:
        raise oauth_error(
            "invalid_client", "a root key or client credentials are required"
        ) from None


async def introspect_answer(scope: Scope, receive: Receive) -> Response:
    """The introspection endpoint, from the scope."""
    challenge = BASIC_CHALLENGE
    try:
        ks = keystead_of_scope(scope)
        call = OAuthCall(scope, receive)
        form = await call.form()
        if bearer_token(call.authorization) is not None:
            challenge = f'{BEARER_CHALLENGE}, error="invalid_token"'
        caller = await _introspector(ks, scope, call, form)
        text = form.get("token")
        if text is None:
            raise oauth_error("invalid_request", "token is required")
        answer = await ks.tokens.introspect(text, caller)
    except KeysteadError as exc:
        return error_answer(as_oauth_error(exc), challenge=challenge, now=_now(scope))
    return _ok(answer)


async def revoke_answer(scope: Scope, receive: Receive) -> Response:
    """The revocation endpoint, from the scope."""
    try:
        ks = keystead_of_scope(scope)
        call = OAuthCall(scope, receive)
        form = await call.form()
        client_id, secret = client_of(call.authorization, form)
        text = form.get("token")
        if text is None:
            raise oauth_error("invalid_request", "token is required")
        await ks.tokens.revoke_token(text, client_id, secret)
    except KeysteadError as exc:
        return error_answer(as_oauth_error(exc), now=_now(scope))
    return Response(b"", 200, NO_STORE)


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorOut, "description": "invalid_request, invalid_scope, ..."},
    401: {"model": OAuthErrorOut, "description": "invalid_client (WWW-Authenticate: Basic)"},
    503: {"model": OAuthErrorOut, "description": "temporarily_unavailable"},
}


def _form_body(*required: str, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    fields = {name: {"type": "string", "maxLength": MAX_FORM_BYTES} for name in required}
    fields.update({name: {"type": "string", "maxLength": MAX_FORM_BYTES} for name in optional})
    schema = {"type": "object", "required": list(required), "properties": fields}
    return {"requestBody": {"required": True, "content": {FORM: {"schema": schema}}}}


@router.post(
    TOKEN_PATH,
    summary="OAuth 2.0 token (client credentials)",
    response_model=OAuthTokenOut,
    responses=_ERRORS,
    openapi_extra=_form_body("grant_type", optional=("scope", "client_id", "client_secret")),
)
async def token(request: Request) -> Response:
    """``grant_type=client_credentials``; the client is an API key (``client_id`` = its
    id, ``client_secret`` = the key). ``scope``: space-separated permissions, a subset of
    the key's (default all). A verification, as ``POST /v1/tokens`` is."""
    return await token_answer(request.scope, request.receive)


@router.post(
    INTROSPECT_PATH,
    summary="OAuth 2.0 token introspection",
    responses={**_ERRORS, 403: {"model": OAuthErrorOut, "description": "insufficient_scope"}},
    openapi_extra=_form_body("token", optional=("token_type_hint", "client_id", "client_secret")),
)
async def introspect(request: Request) -> Response:
    """RFC 7662. The caller holds ``tokens.introspect``: a root key in
    ``Authorization: Bearer``, or an API key's client credentials. An unknown, expired,
    revoked or malformed token is exactly ``{"active": false}``."""
    return await introspect_answer(request.scope, request.receive)


@router.post(
    REVOKE_PATH,
    summary="OAuth 2.0 token revocation",
    response_class=Response,
    responses={200: {"description": "revoked, or nothing to revoke"}, **_ERRORS},
    openapi_extra=_form_body("token", optional=("token_type_hint", "client_id", "client_secret")),
)
async def revoke(request: Request) -> Response:
    """RFC 7009. The client authenticates as on the token endpoint and may revoke only
    its own tokens. Always 200 once the client is authenticated, even for an unknown
    or unverifiable token."""
    return await revoke_answer(request.scope, request.receive)


__all__ = [
    "FORM",
    "INTROSPECT_PATH",
    "MAX_FORM_BYTES",
    "REVOKE_PATH",
    "TOKEN_PATH",
    "OAuthCall",
    "as_oauth_error",
    "client_of",
    "error_answer",
    "introspect_answer",
    "parse_form",
    "revoke_answer",
    "router",
    "scopes",
    "token_answer",
]
