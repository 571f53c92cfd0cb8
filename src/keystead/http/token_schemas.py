"""Request and answer bodies of the token routes: the exchange, signing keys, the token
policy, jti revocations, and the documented shapes of the OAuth and well-known answers.

The service checks the meaning (a TTL within the policy, an audience it allows, claims
it names); these bound the sizes, so a hostile body is a 422 before any work is done.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints

from keystead.core.tokens.policy import (
    MAX_AUDIENCE_CHARS,
    MAX_LIST_ITEMS,
    ROTATE_CEILING_S,
    ROTATE_FLOOR_S,
    TTL_CEILING_S,
)
from keystead.http.fieldtypes import (
    MAX_LIST,
    STAMP_DOC,
    JsonObject,
    NoNul,
    ObjectId,
    Permission,
    RequestModel,
    Stamp,
)
from keystead.http.views import Timestamp
from keystead.service.tokens import SigningKeyInfo

MAX_JTI = 128
Algorithm = Literal["EdDSA", "ES256", "RS256", "HS256"]
"""``keystead.core.tokens.ALGORITHMS`` (tests/http/test_http_tokens.py keeps them equal)."""
Ttl = Annotated[StrictInt, Field(ge=1, le=TTL_CEILING_S)]
Jti = Annotated[NoNul, StringConstraints(min_length=1, max_length=MAX_JTI)]
Audience = Annotated[NoNul, StringConstraints(min_length=1, max_length=MAX_AUDIENCE_CHARS)]
PolicyList = Annotated[list[Audience], Field(max_length=MAX_LIST_ITEMS)]


class TokenRequestIn(RequestModel):
    ttl_s: Ttl | None = Field(default=None, description="seconds; default the API's policy")
    audience: Audience | None = Field(
        default=None, description="the token's aud: the API id (default) or one the policy allows"
    )
    permissions: Annotated[list[Permission], Field(max_length=MAX_LIST)] | None = Field(
        default=None, description="a subset of the key's permissions; default all of them"
    )
    claims: JsonObject | None = Field(
        default=None, description="extra claims, each named in the policy's allowed_claims"
    )


class IssuedOut(BaseModel):
    token: str = Field(description="the signed JWT (RFC 9068, typ at+jwt)")
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme
    expires_in: int = Field(description="seconds from now")
    expires_at: Timestamp
    jti: str
    kid: str
    permissions: list[str]


class RotateIn(RequestModel):
    algorithm: Algorithm | None = Field(
        default=None, description="the new key's algorithm; default the policy's"
    )


class SigningKeyOut(BaseModel):
    kid: str
    algorithm: str
    created_at: Timestamp
    retired_at: Timestamp | None
    publish_until: Timestamp | None = Field(description="in the JWKS until then")
    signing: bool = Field(description="whether new tokens are signed with it")
    public_jwk: dict[str, Any] | None = Field(description="none for HS256: never published")


class SigningKeyList(BaseModel):
    items: list[SigningKeyOut]


class RevocationIn(RequestModel):
    api_id: ObjectId
    jti: Jti = Field(description="the token's jti claim")
    expires_at: Stamp = Field(
        description=f"the token's exp, as epoch seconds or an {STAMP_DOC}: the entry is "
        "dropped after it"
    )


class TokenPolicyIn(RequestModel):
    """The whole policy (PUT replaces it): an omitted field takes its default."""

    enabled: StrictBool | None = None
    algorithm: Algorithm | None = None
    default_ttl_s: Ttl | None = None
    min_ttl_s: Ttl | None = None
    max_ttl_s: Ttl | None = None
    audiences: PolicyList | None = Field(
        default=None, description="audiences allowed besides the API id"
    )
    include_meta: StrictBool | None = Field(default=None, description="put the key's meta in")
    allowed_claims: PolicyList | None = Field(
        default=None, description="extra claims a request may set"
    )
    rotate_every_s: Annotated[StrictInt, Field(ge=ROTATE_FLOOR_S, le=ROTATE_CEILING_S)] | None = (
        Field(default=None, description="scheduled rotation of the signing key; null: manual only")
    )


class TokenPolicyOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    enabled: bool
    algorithm: str
    default_ttl_s: int
    min_ttl_s: int
    max_ttl_s: int
    audiences: list[str]
    include_meta: bool
    allowed_claims: list[str]
    rotate_every_s: int | None


class OAuthTokenOut(BaseModel):
    """RFC 6749 section 5.1."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme
    expires_in: int
    scope: str


class OAuthErrorOut(BaseModel):
    """RFC 6749 section 5.2."""

    error: str
    error_description: str | None = None


class Jwks(BaseModel):
    keys: list[dict[str, Any]]


class ServerMetadata(BaseModel):
    """RFC 8414 authorization server metadata."""

    model_config = ConfigDict(extra="allow")

    issuer: str
    token_endpoint: str
    jwks_uri: str
    introspection_endpoint: str
    revocation_endpoint: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    response_types_supported: list[str]


def moment(epoch: float) -> datetime:
    """Epoch seconds (the service's times) as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, UTC)


def maybe_moment(epoch: float | None) -> datetime | None:
    return None if epoch is None else moment(epoch)


def signing_key_out(info: SigningKeyInfo) -> SigningKeyOut:
    return SigningKeyOut(
        kid=info.kid,
        algorithm=info.algorithm,
        created_at=moment(info.created_at),
        retired_at=maybe_moment(info.retired_at),
        publish_until=maybe_moment(info.publish_until),
        signing=info.signing,
        public_jwk=None if info.public_jwk is None else dict(info.public_jwk),
    )


def policy_out(policy: Mapping[str, Any]) -> TokenPolicyOut:
    return TokenPolicyOut.model_validate(dict(policy))


__all__ = [
    "MAX_JTI",
    "Algorithm",
    "IssuedOut",
    "Jwks",
    "OAuthErrorOut",
    "OAuthTokenOut",
    "RevocationIn",
    "RotateIn",
    "ServerMetadata",
    "SigningKeyList",
    "SigningKeyOut",
    "TokenPolicyIn",
    "TokenPolicyOut",
    "TokenRequestIn",
    "maybe_moment",
    "moment",
    "policy_out",
    "signing_key_out",
]
