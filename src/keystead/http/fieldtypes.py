"""The building blocks of request bodies: bounded strings, ids, date-times, JSON.

Requests forbid unknown fields, bound every string and list, and refuse values no
store can hold (NUL characters, date-times outside 1970..9999, deeply nested JSON).

The bounds come from where the service checks them (``keystead.service.fields``,
``webhook_fields``, ``core.keyformat``, ``core.permissions``), so the OpenAPI
document states the service's numbers. The checks are double on purpose: these
make a malformed body a 422 that lists every bad location before the service
runs, and document the shape; the service must still check whatever the library
and the CLI pass it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from keystead.core.keyformat import MAX_PREFIX_LENGTH
from keystead.core.permissions import MAX_SCOPED_PERMISSION_LENGTH
from keystead.service.fields import (
    MAX_DESCRIPTION,
    MAX_ENVIRONMENT,
    MAX_LIST,
    MAX_PAGE,
    MAX_ROLE_NAME,
    MAX_TEXT,
    MAX_TIME,
    MIN_TIME,
    TIME_RANGE_TEXT,
)

MAX_JSON_DEPTH = 32

PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE, description="page size")]
"""The ``limit`` query parameter of every paged list: the service's bound."""
_ID_RE = re.compile(r"[a-z]{1,16}_[0-9A-HJKMNP-TV-Z]{26}")  # keystead.core.ids
_ID_EXAMPLE = "key_01JZ8Q3V6N2X7R4M5T9K0W1B2C"


def no_nul(value: str) -> str:
    """Refuse a string with a NUL character: neither PostgreSQL text nor JSONB holds one."""
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
        raise ValueError(f"must lie between {TIME_RANGE_TEXT}") from None
    if not MIN_TIME <= utc < MAX_TIME:
        raise ValueError(f"must lie between {TIME_RANGE_TEXT}")
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


Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT), AfterValidator(no_nul)]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION), AfterValidator(no_nul)]
ObjectId = Annotated[
    str,
    AfterValidator(_object_id),
    # anchored: a JSON Schema pattern matches anywhere in the string otherwise
    WithJsonSchema({"type": "string", "pattern": f"^{_ID_RE.pattern}$", "example": _ID_EXAMPLE}),
]
Prefix = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_PREFIX_LENGTH), AfterValidator(no_nul)
]
Permission = Annotated[
    str,
    # a path-scoped permission (secrets.read:secret/payments/*) is longer than a plain
    # one; the service refuses a plain permission over MAX_PERMISSION_LENGTH by name
    StringConstraints(min_length=1, max_length=MAX_SCOPED_PERMISSION_LENGTH),
    AfterValidator(no_nul),
]
RoleName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ROLE_NAME), AfterValidator(no_nul)
]
Environment = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ENVIRONMENT), AfterValidator(no_nul)
]
Stamp = Annotated[datetime, AfterValidator(_utc_in_range)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_plain_json)]
Permissions = Annotated[list[Permission], Field(max_length=MAX_LIST)]
RoleNames = Annotated[list[RoleName], Field(max_length=MAX_LIST)]
KeyStateName = Literal["active", "disabled", "revoked", "expired", "pending"]

STAMP_DOC = "ISO 8601 date-time, e.g. 2030-01-01T00:00:00Z (no offset: UTC)"


class RequestModel(BaseModel):
    """A request body: unknown fields are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


NoNul = Annotated[str, AfterValidator(no_nul)]
"""Any string without NUL characters (its length is the service's to check)."""

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_LIST",
    "STAMP_DOC",
    "Description",
    "Environment",
    "JsonObject",
    "KeyStateName",
    "NoNul",
    "ObjectId",
    "Permission",
    "Permissions",
    "Prefix",
    "RequestModel",
    "RoleName",
    "RoleNames",
    "Stamp",
    "Text",
    "no_nul",
]
