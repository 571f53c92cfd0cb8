"""``/v1/tokens``: an API key exchanged for a short-lived signed JWT, and the token
administration of an API (signing keys, the token policy, revoking one token).

``POST /v1/tokens`` is authenticated by the API key itself (``Authorization: Bearer``
or ``X-API-Key``), never by a root key: it is a verification, so the key's
restrictions, limits and credits apply and it is recorded as usage. A refused key gets
what the verify middleware answers for the same verdict (``keystead.core.answers``):
status, ``WWW-Authenticate``, rate-limit headers and problem body.
"""

from __future__ import annotations

from typing import Annotated

import orjson
import pydantic
from fastapi import APIRouter, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope

from keystead.core.answers import problem_for, ratelimit_headers
from keystead.core.models import VerifyContext
from keystead.core.tokens import TokenPolicy
from keystead.core.verify import Verdict
from keystead.http.auth import Auth, Service, bearer_token, keystead_of_scope
from keystead.http.fastpath import HeaderSnapshot, JsonAnswer, read_body
from keystead.http.openapi import FOUND, WITH_BODY, errors
from keystead.http.problems import PROBLEM_JSON, problem
from keystead.http.routing import router as make_router
from keystead.http.schemas import ObjectId
from keystead.http.token_schemas import (
    IssuedOut,
    RevocationIn,
    RotateIn,
    SigningKeyList,
    SigningKeyOut,
    TokenPolicyIn,
    TokenPolicyOut,
    TokenRequestIn,
    moment,
    policy_out,
    signing_key_out,
)
from keystead.http.verify import NOT_JSON, inline_schema
from keystead.http.views import iso_or_none
from keystead.service.tokens import Issued, TokenRequest

PATH = "/v1/tokens"
API_KEY_HEADER = "x-api-key"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MISSING_KEY = "a valid API key is required"
_REALM = 'Bearer realm="keystead"'
_CHALLENGES = {
    401: f'{_REALM}, error="invalid_token"',
    403: f'{_REALM}, error="insufficient_scope"',
}

_DEFAULTS = TokenRequest()
_EXCHANGE_HEADERS = frozenset(
    (b"authorization", b"x-api-key", b"content-type", b"referer", b"origin", b"user-agent")
)
_NO_STORE_RAW = ((b"cache-control", b"no-store"), (b"pragma", b"no-cache"))

exchange_router = APIRouter(tags=["tokens"])
"""``POST /v1/tokens``: a plain route, since an API key (not a root key) calls it."""
router = make_router(tags=["tokens"])
ApiId = Annotated[ObjectId, Path(description="the API's id (api_...)")]


def api_key_of(request: Request) -> str | None:
    """The API key a request carries: ``Authorization: Bearer``, else ``X-API-Key``."""
    return _api_key(request.headers.get("authorization"), request.headers.get(API_KEY_HEADER))


def _api_key(authorization: str | None, api_key_header: str | None) -> str | None:
    key = bearer_token(authorization)
    if key is None and api_key_header is not None:
        key = api_key_header.strip() or None
    return key


def refusal(verdict: Verdict, now: float) -> Response:
    """The answer of a refused key: exactly the verify middleware's for this verdict."""
    status, extra = ratelimit_headers(verdict, now=now)
    if status is None:  # pragma: no cover - the service returns an Issued then
        raise ValueError("a valid verdict is not refused")
    headers = {"WWW-Authenticate": _CHALLENGES.get(status, _REALM), "Cache-Control": "no-store"}
    headers.update(extra)
    body = orjson.dumps(problem_for(verdict))
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _missing_key() -> Response:
    """No credential at all (RFC 6750: no ``error`` in the challenge then)."""
    return problem(
        401, MISSING_KEY, headers={"WWW-Authenticate": _REALM, "Cache-Control": "no-store"}
    )


def _token_request(body: bytes, content_type: str | None) -> TokenRequest:
    if content_type is not None and "json" not in content_type:
        raise HTTPException(415, NOT_JSON)
    stripped = body.strip()
    if not stripped or stripped == b"{}":  # the common call: the policy's defaults
        return _DEFAULTS
    try:
        data = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",)}]) from None
    try:
        fields = TokenRequestIn.model_validate(data)
    except pydantic.ValidationError as exc:
        issues = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestValidationError(
            [{**issue, "loc": ("body", *issue["loc"])} for issue in issues]
        ) from None
    return TokenRequest(
        ttl_s=fields.ttl_s,
        audience=fields.audience,
        permissions=fields.permissions,
        claims=fields.claims,
    )


def issued_body(issued: Issued) -> bytes:
    """``IssuedOut`` as JSON (a test holds the two equal)."""
    return orjson.dumps(
        {
            "token": issued.token,
            "token_type": "Bearer",
            "expires_in": int(issued.expires_in),
            "expires_at": iso_or_none(moment(issued.expires_at)),
            "jti": issued.jti,
            "kid": issued.kid,
            "permissions": list(issued.permissions),
        }
    )


async def exchange_answer(scope: Scope, receive: Receive) -> Response:
    """The exchange, from the scope: served before the router and by the route."""
    ks = keystead_of_scope(scope)
    headers = HeaderSnapshot(scope, _EXCHANGE_HEADERS)
    get = headers.get
    key = _api_key(get(b"authorization"), get(b"x-api-key"))
    if key is None:
        return _missing_key()
    wanted = _token_request(await read_body(receive), get(b"content-type"))
    client = scope.get("client")
    context = VerifyContext(
        ip=None if client is None else client[0],
        referrer=get(b"referer") or get(b"origin"),
        user_agent=get(b"user-agent"),
    )
    issued = await ks.tokens.exchange(key, context, wanted)
    if isinstance(issued, Verdict):  # the key was refused
        return refusal(issued, ks.clock.now())
    return JsonAnswer(issued_body(issued), 201, _NO_STORE_RAW)


@exchange_router.post(
    PATH,
    status_code=201,
    summary="Exchange an API key for a short-lived token",
    response_model=IssuedOut,
    responses={**errors(401, 403, 422, 429, 500, 503), **WITH_BODY},
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {"schema": inline_schema(TokenRequestIn.model_json_schema())}
            },
        },
    },
)
async def exchange(request: Request) -> Response:
    """Authenticated by the API key to exchange (``Authorization: Bearer <key>``). A
    verification: the key's restrictions, limits and credits apply, and it is recorded
    as usage; a refused key gets verify's answer (401, 403, 429 or 503, with the
    rate-limit headers). Permissions beyond the key's are a 403; a TTL outside the
    API's policy, or an audience it does not allow, a 422."""
    return await exchange_answer(request.scope, request.receive)


@router.post(
    f"{PATH}/revocations",
    status_code=204,
    summary="Revoke one token",
    responses={**WITH_BODY, **FOUND},
)
async def revoke_token(body: RevocationIn, ks: Service, principal: Auth) -> Response:
    """Needs ``tokens.revoke``. The token (by its ``jti``) is refused everywhere from
    now: at once in this process, within a second on other nodes and in the revocation
    document. ``expires_at`` (the token's ``exp``) says when the entry can be dropped."""
    await ks.tokens.revoke_jti(principal, body.api_id, body.jti, body.expires_at.timestamp())
    return Response(status_code=204)


@router.get("/v1/apis/{api_id}/signing-keys", summary="List signing keys", responses=FOUND)
async def list_signing_keys(api_id: ApiId, ks: Service, principal: Auth) -> SigningKeyList:
    """Needs ``tokens.keys.read``. The key that signs, then the retired ones still
    published (newest first); public halves only."""
    infos = await ks.tokens.signing_keys(principal, api_id)
    return SigningKeyList(items=[signing_key_out(info) for info in infos])


@router.post(
    "/v1/apis/{api_id}/signing-keys/rotate",
    status_code=201,
    summary="Rotate the signing key",
    responses={**WITH_BODY, **FOUND},
)
async def rotate_signing_key(
    api_id: ApiId, ks: Service, principal: Auth, body: RotateIn | None = None
) -> SigningKeyOut:
    """Needs ``tokens.keys.rotate``. A new key signs from now; the old one stays in the
    JWKS until the last token it signed has expired."""
    algorithm = None if body is None else body.algorithm
    return signing_key_out(await ks.tokens.rotate_signing_key(principal, api_id, algorithm))


@router.get("/v1/apis/{api_id}/token-policy", summary="Get the token policy", responses=FOUND)
async def get_token_policy(api_id: ApiId, ks: Service, principal: Auth) -> TokenPolicyOut:
    """Needs ``apis.read``. The defaults where none was set."""
    return policy_out((await ks.tokens.policy(principal, api_id)).to_dict())


@router.put(
    "/v1/apis/{api_id}/token-policy",
    summary="Set the token policy",
    responses={**WITH_BODY, **FOUND},
)
async def set_token_policy(
    api_id: ApiId, body: TokenPolicyIn, ks: Service, principal: Auth
) -> TokenPolicyOut:
    """Needs ``apis.update``. Replaces the whole policy (an omitted field takes its
    default); the TTL bounds must hold ``min_ttl_s <= default_ttl_s <= max_ttl_s``."""
    policy = TokenPolicy.from_dict(body.model_dump(exclude_none=True))
    return policy_out((await ks.tokens.set_policy(principal, api_id, policy)).to_dict())


__all__ = [
    "API_KEY_HEADER",
    "NO_STORE",
    "PATH",
    "api_key_of",
    "exchange_answer",
    "exchange_router",
    "issued_body",
    "refusal",
    "router",
]
