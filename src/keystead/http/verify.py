"""``POST /v1/keys/verify``: the hot path.

Lean on purpose. ``KeysteadAPI`` sends this route straight to ``verify_route``'s app
(``keystead.http.fastpath``: it applies the body limit and the last-resort 500
itself, with no middleware layer), skipping the router, the
dependency machinery and response-model re-validation. The body is parsed by orjson
and validated by pydantic-core; the answer is encoded once, by orjson. The
``APIRoute`` below documents the route in OpenAPI and serves it when the fast path
does not apply; both run ``answer``.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

import orjson
import pydantic
from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from keystead.core.answers import limits_json, seconds_ms, windows_of
from keystead.core.models import verify_context
from keystead.core.verify import Verdict
from keystead.errors import KeysteadError, StoreUnavailable, ValidationError
from keystead.http.auth import PRINCIPAL_SCOPE_KEY, authenticate
from keystead.http.fastpath import answered, expected_problem, last_resort, read_body
from keystead.http.limit_schemas import MAX_RATELIMITS
from keystead.http.middleware import content_length_error, log_unhandled
from keystead.http.openapi import COMMON, WITH_BODY
from keystead.http.schemas import MAX_COST, VERIFY_LIMITS, VerifyRequest
from keystead.http.views import VerifyResponse, iso_or_none
from keystead.limits import RateLimit
from keystead.service import Keystead

PATH = "/v1/keys/verify"
NOT_JSON = "send the request body as JSON with 'Content-Type: application/json'"

_validate = VerifyRequest.model_validate
_LIMITS = VERIFY_LIMITS
_CONTENT_TYPE = (b"content-type", b"application/json")


_VALID_BODIES: dict[int, tuple[Verdict, bytes]] = {}
"""The answer to each cached key's shared VALID verdict (``VerifiableKey.valid_verdict``,
the same object on every verification until the key is reloaded), by the verdict's
id. An entry holds its verdict, so the id is not reused while the entry is here."""
_MAX_VALID_BODIES = 4096
"""Entries at which ``_VALID_BODIES`` is emptied (it refills with the keys in use)."""


def verdict_body(verdict: Verdict) -> bytes:
    """The JSON answer: key fields only when the key was found. A cached key's
    VALID answer (no limits, nothing per request in it) is encoded once."""
    known = _VALID_BODIES.get(id(verdict))
    if known is not None and known[0] is verdict:
        return known[1]
    body = _encode(verdict)
    record = verdict.record
    if record is not None and verdict is record.valid_verdict:
        if len(_VALID_BODIES) >= _MAX_VALID_BODIES:
            _VALID_BODIES.clear()
        _VALID_BODIES[id(verdict)] = (verdict, body)
    return body


def _encode(verdict: Verdict) -> bytes:
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
        if key.plan_id is not None:
            out["plan_id"] = key.plan_id
    if verdict.reason is not None:
        out["reason"] = verdict.reason
        if key is not None and key.rotated_to is not None:
            out["rotated_to"] = key.rotated_to
    if verdict.limits:
        out["limits"] = limits_json(verdict.limits, windows_of(verdict))
    if verdict.retry_after is not None:
        out["retry_after"] = seconds_ms(verdict.retry_after)
    if verdict.leases:
        out["leases"] = verdict.leases
    if verdict.shed:
        out["shed"] = True
    return orjson.dumps(out)


def _fits(name: str, value: Any) -> bool:
    """The quick check of a field outside ``VERIFY_LIMITS`` (the string fields)."""
    if value is None:
        return name in ("cost", "ratelimits")
    if name == "cost":
        return type(value) is int and 0 <= value <= MAX_COST
    if name == "ratelimits":
        return type(value) is list and len(value) <= MAX_RATELIMITS
    if name == "record":
        return type(value) is bool
    return False


def extra_limits(items: list[Any] | None) -> tuple[RateLimit, ...]:
    """The per-call rate limits, read strictly: the service's ``ValidationError``
    names the field (``ratelimits[1].limit``)."""
    if not items:
        return ()
    out = []
    names = set()
    for index, item in enumerate(items):
        spec = RateLimit.from_dict(item, f"ratelimits[{index}]")
        if "\x00" in spec.name:
            raise ValidationError(
                "a rate limit name must not contain NUL characters",
                field=f"ratelimits[{index}].name",
            )
        if spec.name in names:
            raise ValidationError(
                "two rate limits have the same name", field=f"ratelimits[{index}].name"
            )
        names.add(spec.name)
        out.append(spec)
    return tuple(out)


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
            if limit is None:
                if not _fits(name, value):
                    break
            elif value is not None and (
                type(value) is not str or len(value) > limit or "\x00" in value
            ):
                break
        else:
            return data
    try:
        return _validate(data).model_dump(exclude_unset=True)
    except pydantic.ValidationError as exc:
        errors = [
            {**error, "loc": ("body", *error["loc"])}
            for error in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        raise RequestValidationError(errors) from None


async def answer(scope: Scope, receive: Receive) -> bytes:
    """Authenticate, read and validate the body, verify: the 200 body, or raise."""
    return await _answer(getattr(scope["app"].state, "keystead", None), scope, receive, None)


async def _answer(ks: Keystead | None, scope: Scope, receive: Receive, limit: int | None) -> bytes:
    """``answer``; with a ``limit``, the body limit too (``BodyLimitMiddleware``'s)."""
    authorization = content_type = length = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"content-type":
            content_type = value
        elif name == b"content-length" and length is None:
            length = value
    if limit is not None and length is not None:
        refused = content_length_error(length, limit)
        if refused is not None:
            raise HTTPException(*refused)
    if ks is None:
        raise StoreUnavailable("the service is not running", safe=True)
    principal = scope.get(PRINCIPAL_SCOPE_KEY) or await authenticate(ks, authorization)
    if content_type is not None and b"json" not in content_type:
        raise HTTPException(415, NOT_JSON)
    data = _parse(await read_body(receive, limit=limit))
    get = data.get
    context = verify_context(  # VerifyContext(...) without a frozen __init__
        get("ip"),
        get("referrer"),
        get("user_agent"),
        get("method"),
        get("path"),
        get("permissions"),
    )
    cost = get("cost")
    extra = get("ratelimits")
    record = get("record", True)
    if cost is None and not extra and record:  # the common call: the service's defaults
        return verdict_body(await ks.verify(data["key"], context, principal=principal))
    verdict = await ks.verify(
        data["key"],
        context,
        principal=principal,
        cost=1 if cost is None else cost,
        ratelimits=extra_limits(extra) if extra else (),
        record=record is not False,
    )
    return verdict_body(verdict)


def verify_route(max_body_bytes: int) -> ASGIApp:
    """``answer`` as a bare ASGI app for ``KeysteadAPI``'s fast path, with what the
    router's middleware would give it in the same call: the body limit (checked with
    the other headers, and while reading), the last-resort 500, and the answer's
    status to the access log. The time to the response goes into the service's
    ``keystead_verify_http_seconds``."""

    async def verify_asgi(scope: Scope, receive: Receive, send: Send) -> None:
        started = perf_counter()
        ks: Keystead | None = getattr(scope["app"].state, "keystead", None)
        answering = False
        try:
            try:
                body = await _answer(ks, scope, receive, max_body_bytes)
            except (KeysteadError, RequestValidationError, HTTPException) as exc:
                response = expected_problem(exc)
                answering = True
                answered(scope, response.status_code)
                await response(scope, receive, send)
                return
            answering = True
            access = getattr(scope["app"], "access_log", None)
            if access is not None and access.every:
                access.answered(scope, 200)
            headers = [_CONTENT_TYPE, (b"content-length", b"%d" % len(body))]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        except Exception:
            log_unhandled(scope)
            if answering:
                raise
            await last_resort(scope, receive, send)
        finally:
            if ks is not None:
                ks.metrics.verify_http.observe(perf_counter() - started)

    return verify_asgi


def inline_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` written in place: the OpenAPI document
    holds it inline, where ``#/$defs/...`` would point nowhere."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    inlined: dict[str, Any] = walk(schema)
    return inlined


router = APIRouter(tags=["verify"])


@router.post(
    PATH,
    summary="Verify a key",
    response_model=VerifyResponse,
    responses={**COMMON, **WITH_BODY},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": inline_schema(VerifyRequest.model_json_schema())}
            },
        },
        "security": [{"rootKey": []}],
    },
)
async def verify_key(request: Request) -> Response:
    """Needs a root key with ``keys.verify``. Always 200 for a verification, valid or not
    (RATE_LIMITED and USAGE_EXCEEDED included): read ``valid`` and ``code``. Keys of
    other workspaces (or of APIs outside the root key's scope) answer ``NOT_FOUND``. A
    permission query that does not parse is a 400 naming the ``position``."""
    return Response(await answer(request.scope, request.receive), media_type="application/json")


__all__ = ["PATH", "answer", "extra_limits", "router", "verdict_body", "verify_route"]
