"""The calls of short-lived tokens (docs/tokens.md): exchanging an API key for a
signed JWT, OAuth 2.0 client credentials, introspection and revocation, the
well-known documents (JWKS, metadata, the signed revocation document) and the
administration of an API's signing keys and token policy.

``exchange_token`` and ``oauth_token`` authenticate with the API key (never the
root key); the other administration calls with the client's root key.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

import httpx

from keystead.client._call import (
    Call,
    compact,
    endpoint,
    get,
    list_of,
    post,
    read_json,
    read_nothing,
    read_object,
    seg,
)
from keystead.client._errors import invalid_answer

_WELL_KNOWN = "/.well-known"
_METADATA = "/.well-known/oauth-authorization-server"
_FORM_ROUTES = ("POST", "/oauth/token")


class _Credential(httpx.Auth):
    """An ``Authorization`` value for one request; its repr never shows it."""

    def __init__(self, value: str) -> None:
        self._value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._value
        yield request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<hidden>)"


def bearer(key: str) -> httpx.Auth:
    """``Authorization: Bearer <key>`` instead of the root key."""
    if not key or not key.strip():
        raise ValueError("an API key is required")
    return _Credential(f"Bearer {key.strip()}")


def client_secret_basic(client_id: str, client_secret: str) -> httpx.Auth:
    """RFC 6749 section 2.3.1: both parts form-encoded, then base64 (HTTP Basic)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return _Credential("Basic " + b64encode(pair.encode("utf-8")).decode("ascii"))


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token from ``POST /v1/tokens``; ``raw`` is the answer as the server sent it."""

    token: str = field(repr=False)
    token_type: str
    expires_in: int
    expires_at: str
    jti: str
    kid: str
    permissions: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class OAuthToken:
    """RFC 6749 section 5.1's answer of ``POST /oauth/token``."""

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int
    scope: str
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An API's signing key (its public half only)."""

    kid: str
    algorithm: str
    created_at: str
    retired_at: str | None
    publish_until: str | None
    signing: bool
    public_jwk: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class RevocationDocument:
    """The signed revocation document (a JWS) and its ETag; ``text`` is None when
    the server answered 304 to ``if_none_match``."""

    text: str | None
    etag: str | None

    @property
    def not_modified(self) -> bool:
        return self.text is None


def _field(answer: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = answer.get(name)
    if not isinstance(value, kind):
        raise invalid_answer(f"'{name}' is missing from the answer")
    return value


def read_issued(response: httpx.Response) -> IssuedToken:
    answer = read_object(response)
    return IssuedToken(
        token=_field(answer, "token", str),
        token_type=_field(answer, "token_type", str),
        expires_in=_field(answer, "expires_in", int),
        expires_at=_field(answer, "expires_at", str),
        jti=_field(answer, "jti", str),
        kid=_field(answer, "kid", str),
        permissions=tuple(_field(answer, "permissions", list)),
        raw=answer,
    )


def read_oauth_token(response: httpx.Response) -> OAuthToken:
    answer = read_object(response)
    return OAuthToken(
        access_token=_field(answer, "access_token", str),
        token_type=_field(answer, "token_type", str),
        expires_in=_field(answer, "expires_in", int),
        scope=_field(answer, "scope", str),
        raw=answer,
    )


def signing_key(answer: Mapping[str, Any]) -> SigningKey:
    return SigningKey(
        kid=_field(answer, "kid", str),
        algorithm=_field(answer, "algorithm", str),
        created_at=_field(answer, "created_at", str),
        retired_at=answer.get("retired_at"),
        publish_until=answer.get("publish_until"),
        signing=bool(answer.get("signing")),
        public_jwk=answer.get("public_jwk"),
        raw=dict(answer),
    )


def read_signing_key(response: httpx.Response) -> SigningKey:
    return signing_key(read_object(response))


def read_signing_keys(response: httpx.Response) -> list[SigningKey]:
    return [signing_key(item) for item in list_of(read_json(response), "items")]


def read_document(response: httpx.Response) -> RevocationDocument:
    etag = response.headers.get("etag")
    if response.status_code == 304:
        return RevocationDocument(None, etag)
    return RevocationDocument(response.text, etag)


def _seconds(moment: float | datetime) -> float:
    return moment.timestamp() if isinstance(moment, datetime) else float(moment)


class TokensApi:
    @endpoint(("POST", "/v1/tokens"))
    def exchange_token(
        self,
        key: str,
        *,
        ttl_s: int | None = None,
        audience: str | None = None,
        permissions: Sequence[str] | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> Call[IssuedToken]:
        """A short-lived JWT for the API key ``key`` (authenticated by the key, not
        the root key). A refused key raises ``ApiError`` with verify's status."""
        body = compact(
            ttl_s=ttl_s,
            audience=audience,
            permissions=None if permissions is None else list(permissions),
            claims=None if claims is None else dict(claims),
        )
        return Call("POST", "/v1/tokens", read_issued, json=body, auth=bearer(key))

    @endpoint(_FORM_ROUTES)
    def oauth_token(
        self,
        client_id: str,
        client_secret: str,
        *,
        scope: str | Sequence[str] | None = None,
        method: str = "client_secret_basic",
    ) -> Call[OAuthToken]:
        """OAuth 2.0 client credentials: ``client_id`` is the key's id and
        ``client_secret`` the key; ``method`` ``client_secret_basic`` or
        ``client_secret_post``. Errors raise ``ApiError`` whose ``title`` is the
        RFC 6749 error code (``invalid_client`` ...)."""
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope if isinstance(scope, str) else " ".join(scope)
        if method == "client_secret_post":
            form.update(client_id=client_id, client_secret=client_secret)
            return Call("POST", "/oauth/token", read_oauth_token, data=form)
        if method != "client_secret_basic":
            raise ValueError("method is client_secret_basic or client_secret_post")
        auth = client_secret_basic(client_id, client_secret)
        return Call("POST", "/oauth/token", read_oauth_token, data=form, auth=auth)

    @endpoint(("POST", "/oauth/introspect"))
    def introspect_token(
        self, token: str, *, client_id: str | None = None, client_secret: str | None = None
    ) -> Call[dict[str, Any]]:
        """RFC 7662: the token's claims with ``active: true``, or exactly
        ``{"active": false}``. Authenticated by the root key (``tokens.introspect``),
        or by an API key's client credentials when given."""
        auth = None
        if client_id is not None and client_secret is not None:
            auth = client_secret_basic(client_id, client_secret)
        return Call("POST", "/oauth/introspect", read_object, data={"token": token}, auth=auth)

    @endpoint(("POST", "/oauth/revoke"))
    def revoke_token(self, token: str, client_id: str, client_secret: str) -> Call[None]:
        """RFC 7009: revoke a token of this client (an API key); succeeds for an
        unknown token too."""
        auth = client_secret_basic(client_id, client_secret)
        return Call("POST", "/oauth/revoke", read_nothing, data={"token": token}, auth=auth)

    @endpoint(("POST", "/v1/tokens/revocations"))
    def revoke_jti(self, api_id: str, jti: str, expires_at: float | datetime) -> Call[None]:
        """Revoke one token by its ``jti`` (needs ``tokens.revoke``); ``expires_at``:
        its ``exp`` (epoch seconds or a datetime)."""
        body = {"api_id": api_id, "jti": jti, "expires_at": _seconds(expires_at)}
        return Call("POST", "/v1/tokens/revocations", read_nothing, json=body)

    @endpoint(("GET", "/.well-known/jwks.json"), ("GET", "/apis/{api_id}/.well-known/jwks.json"))
    def jwks(self, api_id: str | None = None) -> Call[dict[str, Any]]:
        """``{"keys": [...]}``: an API's public signing keys, or every API's."""
        base = "" if api_id is None else f"/apis/{seg(api_id)}"
        return get(f"{base}{_WELL_KNOWN}/jwks.json", read_object)

    @endpoint(
        ("GET", _METADATA),
        ("GET", _METADATA + "/apis/{api_id}"),
        ("GET", "/apis/{api_id}" + _METADATA),
    )
    def oauth_metadata(self, api_id: str | None = None) -> Call[dict[str, Any]]:
        """RFC 8414 metadata: the server's, or an API's (its issuer, JWKS and
        revocation document)."""
        path = _METADATA if api_id is None else f"{_METADATA}/apis/{seg(api_id)}"
        return get(path, read_object)

    @endpoint(("GET", "/apis/{api_id}/.well-known/revocations.jwt"))
    def revocation_document(
        self, api_id: str, *, since: int | None = None, if_none_match: str | None = None
    ) -> Call[RevocationDocument]:
        """The API's signed revocation document (verify it with the API's JWKS);
        ``since``: only the entries after that seq; ``if_none_match``: the ETag
        held, answered ``not_modified`` when nothing changed."""
        headers = None if if_none_match is None else {"If-None-Match": if_none_match}
        path = f"/apis/{seg(api_id)}{_WELL_KNOWN}/revocations.jwt"
        params = compact(since=since) or None
        return Call("GET", path, read_document, params=params, headers=headers)

    @endpoint(("GET", "/v1/apis/{api_id}/signing-keys"))
    def signing_keys(self, api_id: str) -> Call[list[SigningKey]]:
        """The API's signing keys (needs ``tokens.keys.read``)."""
        return get(f"/v1/apis/{seg(api_id)}/signing-keys", read_signing_keys)

    @endpoint(("POST", "/v1/apis/{api_id}/signing-keys/rotate"))
    def rotate_signing_key(self, api_id: str, *, algorithm: str | None = None) -> Call[SigningKey]:
        """A new signing key signs from now (needs ``tokens.keys.rotate``); the old
        one stays published until its tokens have expired."""
        path = f"/v1/apis/{seg(api_id)}/signing-keys/rotate"
        return post(path, read_signing_key, compact(algorithm=algorithm))

    @endpoint(("GET", "/v1/apis/{api_id}/token-policy"))
    def get_token_policy(self, api_id: str) -> Call[dict[str, Any]]:
        return get(f"/v1/apis/{seg(api_id)}/token-policy", read_object)

    @endpoint(("PUT", "/v1/apis/{api_id}/token-policy"))
    def set_token_policy(self, api_id: str, policy: Mapping[str, Any]) -> Call[dict[str, Any]]:
        """Replace the API's token policy (an omitted field takes its default):
        enabled, algorithm, default_ttl_s, min_ttl_s, max_ttl_s, audiences,
        include_meta, allowed_claims, rotate_every_s."""
        path = f"/v1/apis/{seg(api_id)}/token-policy"
        return Call("PUT", path, read_object, json=dict(policy))


__all__ = [
    "IssuedToken",
    "OAuthToken",
    "RevocationDocument",
    "SigningKey",
    "TokensApi",
    "bearer",
    "client_secret_basic",
]
