"""Request bodies and parameters of the HTTP API.

Requests forbid unknown fields, bound every string and list, and refuse values no
store can hold (NUL characters, date-times outside 1970..9999, deeply nested JSON)
so that bad input is a 4xx here rather than a failure further down. The service
validates the meaning (permission syntax, restriction rules, role names, limit
ranges) again, because the library and the CLI call it without these models;
the bounds both check are defined once on the service's side and imported here.
The building blocks live in ``fieldtypes``, the limit shapes in ``limit_schemas``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictBool, StrictInt, StringConstraints

from keystead.core.permissions import MAX_QUERY_LENGTH
from keystead.http.fieldtypes import (
    MAX_LIST,
    STAMP_DOC,
    Description,
    Environment,
    JsonObject,
    KeyStateName,
    NoNul,
    ObjectId,
    Permissions,
    Prefix,
    RequestModel,
    RoleName,
    RoleNames,
    Stamp,
    Text,
)
from keystead.http.limit_schemas import ApiLimitsIn, KeyLimitFields, RateLimits, ResetQuota
from keystead.http.rotation_schemas import RotationPolicyIn
from keystead.service.keys import MAX_BATCH

_RESTRICTIONS_DOC = (
    "where, how and when the key may be used: ips, countries, referrers, user_agents, "
    "methods, paths, schedule (see docs/api.md)"
)


class ApiCreate(RequestModel):
    name: Text
    prefix: Prefix | None = Field(
        default=None, description="key prefix: a-z, 0-9 and _, starting with a letter"
    )
    key_defaults: JsonObject | None = Field(
        default=None,
        description="defaults for new keys: permissions, roles, meta, restrictions, "
        "environment, expires_in_s, enabled",
    )
    limits: ApiLimitsIn | None = Field(
        default=None, description="failure_policy and per-client-IP ip_ratelimits"
    )
    rotation_policy: RotationPolicyIn | None = Field(
        default=None, description="rotation policy of the API's keys (docs/lifecycle.md)"
    )


class RolePut(RequestModel):
    permissions: Permissions
    description: Description | None = None


class KeyFields(KeyLimitFields):
    """Fields shared by creation and update (with the limit fields and ``plan_id``)."""

    name: Text | None = None
    owner_id: Text | None = Field(default=None, description="your identifier of the key's owner")
    meta: JsonObject | None = Field(default=None, description="free JSON, returned by verify")
    permissions: Permissions | None = None
    roles: RoleNames | None = Field(default=None, description="names of roles of the key's API")
    not_before: Stamp | None = Field(default=None, description=STAMP_DOC)
    expires_at: Stamp | None = Field(default=None, description=STAMP_DOC)
    restrictions: JsonObject | None = Field(default=None, description=_RESTRICTIONS_DOC)
    enabled: StrictBool | None = None
    rotation_policy: RotationPolicyIn | None = Field(
        default=None, description="overrides the API's rotation policy (docs/lifecycle.md)"
    )


class KeyCreate(KeyFields):
    api_id: ObjectId
    environment: Environment | None = Field(
        default=None, description="a-z0-9, appended to the API prefix (e.g. 'test')"
    )


class KeyUpdate(KeyFields):
    """Partial update: an omitted field is kept, ``null`` clears it."""

    reset_quota: ResetQuota = False


class KeyBatch(RequestModel):
    keys: Annotated[list[KeyCreate], Field(min_length=1, max_length=MAX_BATCH)]


class RootKeyCreate(RequestModel):
    name: Text | None = None
    permissions: Permissions | None = Field(
        default=None, description="management permissions; default ['*'] (only a '*' caller)"
    )
    api_ids: Annotated[list[ObjectId], Field(max_length=MAX_LIST)] | None = Field(
        default=None, description="narrow the key to these APIs; default: the caller's scope"
    )
    owner_id: Text | None = Field(
        default=None,
        description="narrow the key to this owner's keys and pickups (what an owner's own "
        "automation holds); default: the caller's scope",
    )


VERIFY_LIMITS = {
    "key": 1024,
    "permissions": MAX_QUERY_LENGTH,  # docs/security.md: a query is at most 1024
    "ip": 128,
    "referrer": 4096,
    "user_agent": 2048,
    "method": 32,
    "path": 4096,
}
"""The text fields of a verify request and their maximum lengths (the hot path checks these)."""
MAX_COST = 1_000_000_000


_VKey = Annotated[str, StringConstraints(max_length=VERIFY_LIMITS["key"])]
# the context is recorded as usage: text no store can hold is refused (the key is not:
# a key with a NUL character is MALFORMED, like any other garbage)
_VQuery = Annotated[NoNul, StringConstraints(max_length=VERIFY_LIMITS["permissions"])]
_VIp = Annotated[NoNul, StringConstraints(max_length=VERIFY_LIMITS["ip"])]
_VReferrer = Annotated[NoNul, StringConstraints(max_length=VERIFY_LIMITS["referrer"])]
_VAgent = Annotated[NoNul, StringConstraints(max_length=VERIFY_LIMITS["user_agent"])]
_VMethod = Annotated[NoNul, StringConstraints(max_length=VERIFY_LIMITS["method"])]
_VPath = Annotated[NoNul, StringConstraints(max_length=VERIFY_LIMITS["path"])]


class VerifyRequest(RequestModel):
    key: _VKey = Field(description="the API key presented to your service")
    permissions: _VQuery | None = Field(
        default=None,
        description="permission query, e.g. 'documents.read AND NOT billing.write'",
    )
    ip: _VIp | None = Field(default=None, description="the client's address")
    referrer: _VReferrer | None = Field(
        default=None, description="the Referer (or Origin) header of the request"
    )
    user_agent: _VAgent | None = None
    method: _VMethod | None = Field(default=None, description="e.g. GET")
    path: _VPath | None = Field(default=None, description="the request path, no query string")
    cost: StrictInt | None = Field(
        default=1, ge=0, le=MAX_COST, description="units spent on every limit (0: none)"
    )
    ratelimits: RateLimits | None = Field(
        default=None, description="extra rate limits for this call, counted per key and name"
    )
    record: StrictBool = Field(
        default=True,
        description="record this call as usage; false when the caller reports the completed "
        "request itself (POST /v1/usage/records), as the SDK's middleware does",
    )


def changes(model: BaseModel) -> dict[str, Any]:
    """The fields the client actually sent (``null`` included), as service arguments:
    nested bodies (limit specs) become plain dicts of what was sent in them."""
    return model.model_dump(exclude_unset=True)


__all__ = [
    "MAX_COST",
    "VERIFY_LIMITS",
    "ApiCreate",
    "KeyBatch",
    "KeyCreate",
    "KeyStateName",
    "KeyUpdate",
    "ObjectId",
    "RoleName",
    "RolePut",
    "RootKeyCreate",
    "Text",
    "VerifyRequest",
    "changes",
]
