"""``/.well-known`` and ``/apis/{api_id}/.well-known``: what verifiers and OAuth clients
fetch without any credential.

- JWKS: per API (PyJWT's ``PyJWKClient(url)`` reads it) and server-wide (every API's
  published keys; kids are unique). ``Cache-Control: public, max-age=300``, an ETag,
  and 304 on a matching ``If-None-Match``.
- RFC 8414 metadata: per API at ``/.well-known/oauth-authorization-server/apis/{api_id}``
  (section 3.1's path insertion) and at ``/apis/{api_id}/.well-known/oauth-authorization-server``
  (where many clients look), with the API's issuer; server-wide at
  ``/.well-known/oauth-authorization-server`` with the base URL as issuer.
- The revocation document: a JWS (``application/jwt``, typ ``revocations+jwt``) signed
  by the API's signing key, ``Cache-Control: no-cache``, a strong ETag ``"<seq>-<kid>"``
  and 304; ``?since=<seq>`` gives only the later entries.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response

from keystead.http.auth import Service
from keystead.http.oauth import INTROSPECT_PATH, REVOKE_PATH, TOKEN_PATH
from keystead.http.openapi import FOUND, errors
from keystead.http.schemas import ObjectId
from keystead.http.token_schemas import Jwks, ServerMetadata
from keystead.service import Keystead

JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"
API_BASE = "/apis/{api_id}"
REVOCATIONS = "/.well-known/revocations.jwt"
JWKS_CACHE = "public, max-age=300"
MAX_SEQ = 2**63 - 1
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

router = APIRouter(tags=["well-known"])
ApiId = Annotated[ObjectId, Path(description="the API's id (api_...)")]
_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {304: {"description": "Not Modified"}}


def quoted(etag: str) -> str:
    """An entity tag as HTTP writes it (the service may give it bare)."""
    return etag if etag.startswith(('"', 'W/"')) else f'"{etag}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == wanted:
            return True
    return False


def cached(
    request: Request, body: bytes, etag: str, *, media_type: str, cache_control: str
) -> Response:
    """``body`` with its validators, or a bodiless 304 when the client has it."""
    tag = quoted(etag)
    headers = {"ETag": tag, "Cache-Control": cache_control}
    if matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(body, 200, headers, media_type=media_type)


async def _jwks(request: Request, ks: Keystead, api_id: str | None) -> Response:
    document, etag = await ks.tokens.jwks(api_id)
    return cached(
        request,
        orjson.dumps(document),
        etag,
        media_type="application/json",
        cache_control=JWKS_CACHE,
    )


@router.get(
    JWKS_PATH,
    summary="Every API's token signing keys (JWKS)",
    response_model=Jwks,
    responses={**_NOT_MODIFIED, **errors(500, 503)},
)
async def server_jwks(request: Request, ks: Service) -> Response:
    """The public keys of every API (HS256 keys are never published)."""
    return await _jwks(request, ks, None)


@router.get(
    API_BASE + JWKS_PATH,
    summary="An API's token signing keys (JWKS)",
    response_model=Jwks,
    responses={**_NOT_MODIFIED, **errors(422, 500, 503)},
)
async def api_jwks(api_id: ApiId, request: Request, ks: Service) -> Response:
    """What ``PyJWKClient`` reads: the key that signs and the retired ones whose tokens
    may still be alive (none for an API that never issued a token)."""
    return await _jwks(request, ks, api_id)


def metadata(base: str, issuer: str, api_id: str | None) -> dict[str, Any]:
    """RFC 8414 section 2's fields for this issuer."""
    out: dict[str, Any] = {
        "issuer": issuer,
        "token_endpoint": base + TOKEN_PATH,
        "jwks_uri": base + (JWKS_PATH if api_id is None else f"/apis/{api_id}{JWKS_PATH}"),
        "introspection_endpoint": base + INTROSPECT_PATH,
        "revocation_endpoint": base + REVOKE_PATH,
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "response_types_supported": [],
    }
    if api_id is not None:
        out["keystead_revocations_uri"] = f"{base}/apis/{api_id}{REVOCATIONS}"
    return out


@router.get(METADATA_PATH, summary="OAuth 2.0 server metadata", response_model=ServerMetadata)
async def server_metadata(ks: Service) -> dict[str, Any]:
    """RFC 8414, with the server's base URL as issuer and the server-wide JWKS."""
    base = ks.settings.base_url()
    return metadata(base, base, None)


def _api_metadata(ks: Keystead, api_id: str) -> dict[str, Any]:
    """Derived from the address alone: an API that issued no token has an empty JWKS."""
    return metadata(ks.settings.base_url(), ks.tokens.issuer(api_id), api_id)


@router.get(
    METADATA_PATH + API_BASE,
    summary="An API's OAuth 2.0 metadata (RFC 8414 path)",
    responses=errors(422, 500, 503),
    response_model=ServerMetadata,
)
async def api_metadata(api_id: ApiId, ks: Service) -> dict[str, Any]:
    """RFC 8414 section 3.1: the issuer ``{base}/apis/{api_id}`` with the well-known
    name inserted before its path."""
    return _api_metadata(ks, api_id)


@router.get(
    API_BASE + METADATA_PATH,
    summary="An API's OAuth 2.0 metadata",
    responses=errors(422, 500, 503),
    response_model=ServerMetadata,
)
async def api_metadata_under_issuer(api_id: ApiId, ks: Service) -> dict[str, Any]:
    """The same document, where clients that append the well-known name to the issuer
    look for it."""
    return _api_metadata(ks, api_id)


@router.get(
    API_BASE + REVOCATIONS,
    summary="An API's signed revocation document",
    response_class=Response,
    responses={
        200: {"description": "the JWS (compact)", "content": {"application/jwt": {}}},
        **_NOT_MODIFIED,
        **FOUND,
        **errors(422, 500, 503),
    },
)
async def revocations(
    api_id: ApiId,
    request: Request,
    ks: Service,
    since: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="only the entries after this seq")
    ] = None,
) -> Response:
    """A JWS signed by the API's signing key (verify it with the API's JWKS): the
    per-key "not before" watermarks and the revoked jtis, with the ``seq`` of the last
    entry. Poll it with ``If-None-Match``; ``since`` gives the delta. 404 for an API
    that never issued a token."""
    text, etag = await ks.tokens.revocation_document(api_id, since)
    return cached(
        request,
        text.encode("ascii"),
        etag,
        media_type="application/jwt",
        cache_control="no-cache",
    )


__all__ = [
    "API_BASE",
    "JWKS_PATH",
    "METADATA_PATH",
    "REVOCATIONS",
    "cached",
    "matches",
    "metadata",
    "quoted",
    "router",
]
