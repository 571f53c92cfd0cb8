"""``POST /v1/keys/verify``: the hot path.

Lean on purpose. ``KeysteadAPI`` sends this one route straight to ``verify_asgi``
(wrapped only in the body limit and the last-resort 500), skipping the router, the
dependency machinery and response-model re-validation. The body is parsed by orjson
and validated by pydantic-core; the answer is encoded once, by orjson. The
``APIRoute`` below documents the route in OpenAPI and serves it when the fast path
does not apply; both run ``answer``.
"""

from __future__ import annotations

from typing import Any

import orjson
import pydantic
from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from keystead.core.models import VerifyContext
from keystead.core.verify import Verdict
from keystead.errors import KeysteadError, StoreUnavailable
from keystead.http import problems
from keystead.http.auth import authenticate
from keystead.http.openapi import COMMON, WITH_BODY
from keystead.http.schemas import VERIFY_LIMITS, VerifyRequest
from keystead.http.views import VerifyResponse, iso_or_none

PATH = "/v1/keys/verify"
NOT_JSON = "send the request body as JSON with 'Content-Type: application/json'"

_validate = VerifyRequest.model_validate
_LIMITS = VERIFY_LIMITS
_CONTENT_TYPE = (b"content-type", b"application/json")


def verdict_body(verdict: Verdict) -> bytes:
    """The JSON answer: key fields only when the key was found."""
    key = verdict.key
    out: dict[str, Any] = {"valid": verdict.valid, "code": verdict.code.value}
    if key is not None:
        out["key_id"] = key.id
        out["api_id"] = key.api_id
        out["owner_id"] = key.owner_id
        out["name"] = key.name
        out["permissions"] = verdict.permissions
        out["meta"] = key.meta
        out["expires_at"] = iso_or_none(key.expires_at)
    if verdict.reason is not None:
        out["reason"] = verdict.reason
    return orjson.dumps(out)


def _parse(body: bytes) -> dict[str, Any]:
    """The request fields. A well-formed body (the common case) passes a quick check of
    its own; anything else goes to ``VerifyRequest`` for the full list of errors."""
    # orjson: like every other route, NaN, Infinity and lone surrogates are not JSON
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",)}]) from None
    if type(data) is dict and type(data.get("key")) is str:
        for name, value in data.items():
            limit = _LIMITS.get(name)
            if limit is None or (
                value is not None and (type(value) is not str or len(value) > limit)
            ):
                break
        else:
            return data
    try:
        return _validate(data).model_dump()
    except pydantic.ValidationError as exc:
        errors = [
            {**error, "loc": ("body", *error["loc"])}
            for error in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        raise RequestValidationError(errors) from None


async def answer(scope: Scope, receive: Receive) -> bytes:
    """Authenticate, read and validate the body, verify: the 200 body, or raise."""
    ks = getattr(scope["app"].state, "keystead", None)
    if ks is None:
        raise StoreUnavailable("the service is not running")
    authorization = content_type = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"content-type":
            content_type = value
    principal = await authenticate(ks, authorization)
    if content_type is not None and b"json" not in content_type:
        raise HTTPException(415, NOT_JSON)
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise HTTPException(400, "the client went away")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    data = _parse(b"".join(chunks))
    get = data.get
    context = VerifyContext(
        ip=get("ip"),
        referrer=get("referrer"),
        user_agent=get("user_agent"),
        method=get("method"),
        path=get("path"),
        permissions=get("permissions"),
    )
    return verdict_body(await ks.verify(data["key"], context, principal=principal))


async def verify_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """``answer`` as a bare ASGI app, rendering its own expected errors."""
    try:
        body = await answer(scope, receive)
    except KeysteadError as exc:
        await problems.from_keystead_error(exc)(scope, receive, send)
        return
    except RequestValidationError as exc:
        await problems.from_validation_errors(exc.errors())(scope, receive, send)
        return
    except HTTPException as exc:
        await problems.problem(exc.status_code, exc.detail, headers=exc.headers)(
            scope, receive, send
        )
        return
    headers = [_CONTENT_TYPE, (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


router = APIRouter(tags=["verify"])


@router.post(
    PATH,
    summary="Verify a key",
    response_model=VerifyResponse,
    responses={**COMMON, **WITH_BODY},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": VerifyRequest.model_json_schema()}},
        },
        "security": [{"rootKey": []}],
    },
)
async def verify_key(request: Request) -> Response:
    """Needs a root key with ``keys.verify``. Always 200 for a verification, valid or not:
    read ``valid`` and ``code``. Keys of other workspaces (or of APIs outside the root
    key's scope) answer ``NOT_FOUND``. A permission query that does not parse is a 400
    naming the ``position``."""
    return Response(await answer(request.scope, request.receive), media_type="application/json")


__all__ = ["PATH", "answer", "router", "verdict_body", "verify_asgi"]
