"""Who is calling: ``Authorization: Bearer <root key>`` -> ``Principal``.

The service authenticates (a keyed-hash cache lookup, store on a miss) and answers
one vague ``Unauthorized`` for every failure; a missing or non-Bearer header gets
the same 401. Every 401 carries ``WWW-Authenticate: Bearer``. Never log the header.
"""

from __future__ import annotations

import re
import time
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request
from starlette.types import Scope

from keystead.core.authz import Principal
from keystead.core.ids import new_id
from keystead.errors import StoreUnavailable, Unauthorized
from keystead.events.audit import AuditOrigin, set_origin
from keystead.service import Keystead

MISSING_ROOT_KEY = "a root key is required: send 'Authorization: Bearer <root key>'"

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="rootKey",
    description="A root key of your workspace (ksroot_...).",
)


def keystead_of(request: Request) -> Keystead:
    """The service this app serves (set at construction or by the lifespan)."""
    return keystead_of_scope(request.scope)


def keystead_of_scope(scope: Scope) -> Keystead:
    """``keystead_of`` for an ASGI scope (the app is ``scope["app"]``)."""
    ks: Keystead | None = getattr(scope["app"].state, "keystead", None)
    if ks is None:
        raise StoreUnavailable("the service is not running", safe=True)
    return ks


def bearer_token(authorization: str | None) -> str | None:
    """The token of a ``Bearer`` Authorization header value, else ``None``."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def authenticate(ks: Keystead, authorization: str | None) -> Principal:
    token = bearer_token(authorization)
    if token is None:
        raise Unauthorized(MISSING_ROOT_KEY)
    return await ks.root_keys.authenticate(token)


PRINCIPAL_SCOPE_KEY = "keystead.principal"
"""Where the scope keeps its authenticated caller (set in-process by
``keystead.http.inprocess``; an ASGI server never puts it there)."""
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


async def authenticate_request(request: Request) -> Principal:
    """The caller of this request, authenticated once and remembered in its scope
    (which ASGI makes per request; ``state`` may be shared with the lifespan's)."""
    principal: Principal | None = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if principal is None:
        ks = keystead_of(request)
        principal = await authenticate(ks, request.headers.get("authorization"))
        request.scope[PRINCIPAL_SCOPE_KEY] = principal
        audit_origin(request)
    return principal


async def caller_of_scope(ks: Keystead, scope: Scope, authorization: str | None) -> Principal:
    """The caller in ``scope`` (in-process), else the root key of ``authorization``;
    for reads that audit nothing, so no audit origin is recorded."""
    principal: Principal | None = scope.get(PRINCIPAL_SCOPE_KEY)
    if principal is not None:
        return principal
    return await authenticate(ks, authorization)


def audit_origin(request: Request) -> None:
    """Record where this management call comes from, for its audit entries
    (``X-Request-Id`` when sane, else a fresh ``req_`` id)."""
    given = request.headers.get("x-request-id", "")
    request_id = given if _REQUEST_ID.fullmatch(given) else new_id("req", time.time())
    user_agent = request.headers.get("user-agent")
    set_origin(
        AuditOrigin(
            ip=None if request.client is None else request.client.host,
            user_agent=None if user_agent is None else user_agent[:512],
            request_id=request_id,
        )
    )


async def _principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    return await authenticate_request(request)


Auth = Annotated[Principal, Depends(_principal)]
"""The authenticated caller of a management route (documents the Bearer scheme)."""

Service = Annotated[Keystead, Depends(keystead_of)]

__all__ = [
    "PRINCIPAL_SCOPE_KEY",
    "Auth",
    "Service",
    "audit_origin",
    "authenticate",
    "authenticate_request",
    "bearer_scheme",
    "bearer_token",
    "caller_of_scope",
    "keystead_of",
    "keystead_of_scope",
]
