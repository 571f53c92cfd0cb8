"""Request bodies and parameters of the HTTP API.

Requests forbid unknown fields, bound every string and list, and refuse values no
store can hold (NUL characters, date-times outside 1970..9999, deeply nested JSON)
so that bad input is a 4xx here rather than a failure further down. The service
validates the meaning (permission syntax, restriction rules, role names) again.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)

MAX_LIST = 1000
MAX_JSON_DEPTH = 32
_MIN_YEAR, _MAX_YEAR = 1970, 9999
_ID_RE = re.compile(r"[a-z]{1,16}_[0-9A-HJKMNP-TV-Z]{26}")  # keystead.core.ids
_ID_EXAMPLE = "key_01JZ8Q3V6N2X7R4M5T9K0W1B2C"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _object_id(value: str) -> str:
    if _ID_RE.fullmatch(value) is None:
        raise ValueError(f"is not a Keystead id (like {_ID_EXAMPLE})")
    return value


def _utc_in_range(value: datetime) -> datetime:
    """UTC (a value without an offset is UTC already, as everywhere in Keystead)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"must lie between the years {_MIN_YEAR} and {_MAX_YEAR}") from None
    if not _MIN_YEAR <= utc.year <= _MAX_YEAR:
        raise ValueError(f"must lie between the years {_MIN_YEAR} and {_MAX_YEAR}")
    return utc


def _plain_json(value: dict[str, Any]) -> dict[str, Any]:
    """Bounded nesting and no NUL characters anywhere: what every backend can store."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"is nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, dict):
            for name, item in node.items():
                if "\x00" in name:
                    raise ValueError("must not contain NUL characters")
                stack.append((item, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
        elif isinstance(node, str) and "\x00" in node:
            raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_nul)]
Description = Annotated[str, StringConstraints(max_length=500), AfterValidator(_no_nul)]
ObjectId = Annotated[
    str,
    AfterValidator(_object_id),
    WithJsonSchema({"type": "string", "pattern": _ID_RE.pattern, "example": _ID_EXAMPLE}),
]
Prefix = Annotated[str, StringConstraints(min_length=1, max_length=32), AfterValidator(_no_nul)]
Permission = Annotated[
    str, StringConstraints(min_length=1, max_length=128), AfterValidator(_no_nul)
]
RoleName = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_no_nul)]
Environment = Annotated[
    str, StringConstraints(min_length=1, max_length=16), AfterValidator(_no_nul)
]
Stamp = Annotated[datetime, AfterValidator(_utc_in_range)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_plain_json)]
Permissions = Annotated[list[Permission], Field(max_length=MAX_LIST)]
RoleNames = Annotated[list[RoleName], Field(max_length=MAX_LIST)]
KeyStateName = Literal["active", "disabled", "revoked", "expired", "pending"]

_STAMP_DOC = "ISO 8601 date-time, e.g. 2030-01-01T00:00:00Z (no offset: UTC)"
_RESTRICTIONS_DOC = (
    "where, how and when the key may be used: ips, countries, referrers, user_agents, "
    "methods, paths, schedule (see docs/api.md)"
)


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class RolePut(RequestModel):
    permissions: Permissions
    description: Description | None = None


class KeyFields(RequestModel):
    """Fields shared by creation and update."""

    name: Text | None = None
    owner_id: Text | None = Field(default=None, description="your identifier of the key's owner")
    meta: JsonObject | None = Field(default=None, description="free JSON, returned by verify")
    permissions: Permissions | None = None
    roles: RoleNames | None = Field(default=None, description="names of roles of the key's API")
    not_before: Stamp | None = Field(default=None, description=_STAMP_DOC)
    expires_at: Stamp | None = Field(default=None, description=_STAMP_DOC)
    restrictions: JsonObject | None = Field(default=None, description=_RESTRICTIONS_DOC)
    enabled: StrictBool | None = None


class KeyCreate(KeyFields):
    api_id: ObjectId
    environment: Environment | None = Field(
        default=None, description="a-z0-9, appended to the API prefix (e.g. 'test')"
    )


class KeyUpdate(KeyFields):
    """Partial update: an omitted field is kept, ``null`` clears it."""


class KeyBatch(RequestModel):
    keys: Annotated[list[KeyCreate], Field(min_length=1, max_length=MAX_LIST)]


class RootKeyCreate(RequestModel):
    name: Text | None = None
    permissions: Permissions | None = Field(
        default=None, description="management permissions; default ['*'] (only a '*' caller)"
    )
    api_ids: Annotated[list[ObjectId], Field(max_length=MAX_LIST)] | None = Field(
        default=None, description="narrow the key to these APIs; default: the caller's scope"
    )


VERIFY_LIMITS = {
    "key": 1024,
    "permissions": 4096,
    "ip": 128,
    "referrer": 4096,
    "user_agent": 2048,
    "method": 32,
    "path": 4096,
}
"""The fields of a verify request and their maximum lengths (the hot path checks these)."""


_VKey = Annotated[str, StringConstraints(max_length=VERIFY_LIMITS["key"])]
_VQuery = Annotated[str, StringConstraints(max_length=VERIFY_LIMITS["permissions"])]
_VIp = Annotated[str, StringConstraints(max_length=VERIFY_LIMITS["ip"])]
_VReferrer = Annotated[str, StringConstraints(max_length=VERIFY_LIMITS["referrer"])]
_VAgent = Annotated[str, StringConstraints(max_length=VERIFY_LIMITS["user_agent"])]
_VMethod = Annotated[str, StringConstraints(max_length=VERIFY_LIMITS["method"])]
_VPath = Annotated[str, StringConstraints(max_length=VERIFY_LIMITS["path"])]


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


def changes(model: BaseModel) -> dict[str, Any]:
    """The fields the client actually sent (``null`` included), as service arguments."""
    return {name: getattr(model, name) for name in model.model_fields_set}


__all__ = [
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
