"""Response bodies of the HTTP API, built from the service's domain records.

Date-times are always UTC, ISO 8601 with a ``Z`` suffix (``2030-01-01T00:00:00Z``;
fractional seconds appear only when non-zero). Only ``CreatedKeyOut`` and
``CreatedRootKeyOut`` carry a plaintext ``key``: the one-time reveal at creation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

from keystead.core.models import Api, Code, CreatedKey, CreatedRootKey, Key, Role, RootKey
from keystead.http.fieldtypes import KeyStateName


def iso(value: datetime) -> str:
    """UTC, ISO 8601, ``Z`` suffix. Naive values are UTC already (SQLite)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z"  # isoformat of a UTC value always ends with "+00:00"


def iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


Timestamp = Annotated[
    datetime,
    PlainSerializer(iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "example": "2030-01-01T00:00:00Z"}),
]


class ApiOut(BaseModel):
    id: str
    name: str
    prefix: str
    key_defaults: dict[str, Any]
    limits: dict[str, Any] = Field(description="failure_policy and ip_ratelimits")
    rotation_policy: dict[str, Any] | None
    created_at: Timestamp
    updated_at: Timestamp


class ApiList(BaseModel):
    items: list[ApiOut]


class RoleOut(BaseModel):
    api_id: str
    name: str
    permissions: list[str]
    description: str | None
    created_at: Timestamp
    updated_at: Timestamp


class RoleList(BaseModel):
    items: list[RoleOut]


class KeyOut(BaseModel):
    id: str
    start: str
    prefix: str
    api_id: str
    name: str | None
    owner_id: str | None
    meta: dict[str, Any]
    permissions: list[str]
    roles: list[str]
    enabled: bool
    environment: str | None
    not_before: Timestamp | None
    expires_at: Timestamp | None
    restrictions: dict[str, Any] | None
    created_at: Timestamp
    updated_at: Timestamp
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None
    created_by: str | None
    state: KeyStateName
    ratelimits: list[dict[str, Any]] = Field(description="the key's own rate limits")
    quota: dict[str, Any] | None
    credits: dict[str, Any] | None = Field(description="the credits spec (not the live balance)")
    concurrency: dict[str, Any] | None
    plan_id: str | None
    rotation_policy: dict[str, Any] | None = Field(description="the key's own; null: the API's")
    rotated_from: str | None = Field(description="the key this one replaced")
    rotated_to: str | None = Field(description="the key that replaced this one")


class KeyDetailOut(KeyOut):
    credits_remaining: int | None = Field(
        description="the live credit balance (null: the key has no credits)"
    )


class CreatedKeyOut(KeyOut):
    key: str = Field(repr=False, description="the plaintext key: shown this once, never again")


class KeyPage(BaseModel):
    items: list[KeyOut]
    next_cursor: str | None


class CreatedKeyList(BaseModel):
    items: list[CreatedKeyOut]


class RootKeyOut(BaseModel):
    id: str
    name: str | None
    start: str
    permissions: list[str]
    api_ids: list[str] | None
    created_at: Timestamp
    revoked_at: Timestamp | None
    created_by: str | None
    owner_id: str | None = Field(default=None, description="narrowed to this owner's keys")


class CreatedRootKeyOut(RootKeyOut):
    key: str = Field(repr=False, description="the plaintext root key: shown this once")


class RootKeyList(BaseModel):
    items: list[RootKeyOut]


class Health(BaseModel):
    status: str


class LimitOut(BaseModel):
    """One limit after a verification."""

    name: str = Field(description="the limit's name; owner limits are 'owner.<name>'")
    kind: str = Field(description="rate_limit, quota, credits or concurrency")
    limit: int
    remaining: int
    reset: int | None = Field(
        description="epoch second (rounded up) when the counter is whole again; "
        "null: credits that never refill"
    )
    retry_after: float | None = Field(
        default=None, description="on the limit that refused: seconds until it would pass"
    )
    window: int | None = Field(
        default=None,
        description="the window in whole seconds, when the key's own limit set tells it",
    )


class VerifyResponse(BaseModel):
    """The verify answer. Key fields appear only when the key was found (never for
    MALFORMED or NOT_FOUND); ``reason`` only for FORBIDDEN (the failed restriction),
    INSUFFICIENT_PERMISSIONS (the query), RATE_LIMITED and USAGE_EXCEEDED (the limit
    that refused). ``limits``, ``retry_after``, ``leases`` and ``shed`` appear only when
    they have something to say."""

    valid: bool
    code: Code
    key_id: str | None = None
    api_id: str | None = None
    owner_id: str | None = None
    name: str | None = None
    permissions: list[str] | None = None
    meta: dict[str, Any] | None = None
    expires_at: Timestamp | None = None
    plan_id: str | None = Field(default=None, description="the key's own plan, when it has one")
    reason: str | None = None
    limits: list[LimitOut] | None = None
    retry_after: float | None = Field(
        default=None, description="refused by a limit: seconds until a retry could pass"
    )
    leases: list[str] | None = Field(
        default=None, description="concurrency slots taken: POST them to /v1/keys/verify/release"
    )
    shed: bool | None = Field(
        default=None, description="true: refused by load shedding or an unreachable limiter"
    )


def api_out(api: Api) -> ApiOut:
    return ApiOut(
        id=api.id,
        name=api.name,
        prefix=api.prefix,
        key_defaults=api.key_defaults,
        limits=api_limits(api.limits),
        rotation_policy=api.rotation_policy,
        created_at=api.created_at,
        updated_at=api.updated_at,
    )


def api_limits(limits: Mapping[str, Any]) -> dict[str, Any]:
    """An API's limit settings with their defaults filled in."""
    return {
        "failure_policy": limits.get("failure_policy", "open"),
        "ip_ratelimits": list(limits.get("ip_ratelimits", ())),
    }


def limit_set(limits: Mapping[str, Any]) -> dict[str, Any]:
    """A limit set (a key's, a plan's, an owner's) as the four response fields."""
    return {
        "ratelimits": list(limits.get("ratelimits", ())),
        "quota": limits.get("quota"),
        "credits": limits.get("credits"),
        "concurrency": limits.get("concurrency"),
    }


def role_out(role: Role) -> RoleOut:
    return RoleOut(
        api_id=role.api_id,
        name=role.name,
        permissions=list(role.permissions),
        description=role.description,
        created_at=role.created_at,
        updated_at=role.updated_at,
    )


def _key_fields(key: Key, now: float) -> dict[str, Any]:
    return {
        "id": key.id,
        "start": key.start,
        "prefix": key.prefix,
        "api_id": key.api_id,
        "name": key.name,
        "owner_id": key.owner_id,
        "meta": key.meta,
        "permissions": list(key.permissions),
        "roles": list(key.roles),
        "enabled": key.enabled,
        "environment": key.environment,
        "not_before": key.not_before,
        "expires_at": key.expires_at,
        "restrictions": key.restrictions,
        "created_at": key.created_at,
        "updated_at": key.updated_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
        "created_by": key.created_by,
        "state": key.state_at(now),
        **limit_set(key.limits),
        "plan_id": key.plan_id,
        "rotation_policy": key.rotation_policy,
        "rotated_from": key.rotated_from,
        "rotated_to": key.rotated_to,
    }


def key_out(key: Key, now: float) -> KeyOut:
    return KeyOut(**_key_fields(key, now))


def key_detail_out(key: Key, now: float, credits_remaining: int | None) -> KeyDetailOut:
    return KeyDetailOut(**_key_fields(key, now), credits_remaining=credits_remaining)


def created_key_out(created: CreatedKey, now: float) -> CreatedKeyOut:
    return CreatedKeyOut(**_key_fields(created.key, now), key=created.plaintext)


def _root_key_fields(root_key: RootKey) -> dict[str, Any]:
    return {
        "id": root_key.id,
        "name": root_key.name,
        "start": root_key.start,
        "permissions": list(root_key.permissions),
        "api_ids": None if root_key.api_ids is None else list(root_key.api_ids),
        "created_at": root_key.created_at,
        "revoked_at": root_key.revoked_at,
        "created_by": root_key.created_by,
        "owner_id": root_key.owner_id,
    }


def root_key_out(root_key: RootKey) -> RootKeyOut:
    return RootKeyOut(**_root_key_fields(root_key))


def created_root_key_out(created: CreatedRootKey) -> CreatedRootKeyOut:
    return CreatedRootKeyOut(**_root_key_fields(created.root_key), key=created.plaintext)


__all__ = [
    "ApiList",
    "ApiOut",
    "CreatedKeyList",
    "CreatedKeyOut",
    "CreatedRootKeyOut",
    "Health",
    "KeyDetailOut",
    "KeyOut",
    "KeyPage",
    "LimitOut",
    "RoleList",
    "RoleOut",
    "RootKeyList",
    "RootKeyOut",
    "VerifyResponse",
    "api_limits",
    "api_out",
    "created_key_out",
    "created_root_key_out",
    "iso",
    "iso_or_none",
    "key_detail_out",
    "key_out",
    "limit_set",
    "role_out",
    "root_key_out",
]
