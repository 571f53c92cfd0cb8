"""Validation of key fields, shared by create, update and API key defaults.

Every failure is a ``ValidationError`` that names the field; values come back
normalised (timezone-aware UTC datetimes, deduplicated permission lists,
restrictions in their canonical JSON form).

The bounds are defined here once and ``keystead.http.fieldtypes`` builds its
pydantic types from them. The checks themselves stay double: the library and
the CLI call the service without passing through pydantic, and the service
must refuse what the HTTP schema would have.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from keystead.core.ids import looks_like_id
from keystead.core.permissions import validate_permission
from keystead.core.restrictions import Restrictions
from keystead.errors import ValidationError
from keystead.service.limit_fields import LIMIT_FIELDS

MAX_META_BYTES = 16_384
MAX_LIST = 1000
MAX_TEXT = 200
MAX_DESCRIPTION = 500
"""A description's length: of a role, of a webhook."""
"""Names, owner ids and other free text: 1 to this many characters."""
MAX_ROLE_NAME = 100
ROLE_RE = re.compile(rf"[A-Za-z0-9_.:\-]{{1,{MAX_ROLE_NAME}}}")
ROLE_RULE = f"a role name is 1 to {MAX_ROLE_NAME} characters of A-Z a-z 0-9 _ . : -"
MAX_ENVIRONMENT = 16
_ENV_RE = re.compile(rf"[a-z0-9]{{1,{MAX_ENVIRONMENT}}}")
MIN_YEAR, MAX_YEAR = 1970, 9999
"""The years a date-time may lie in (what every store can hold)."""
MIN_TIME = datetime(MIN_YEAR, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(MAX_YEAR, 1, 1, tzinfo=UTC)
"""Date-times lie in [MIN_TIME, MAX_TIME): the end is open, so that adding a grace
period or a window to a stored time stays within what datetime represents."""
TIME_RANGE_TEXT = f"{MIN_YEAR}-01-01 and {MAX_YEAR}-01-01 (UTC)"

_KEY_FIELDS = frozenset(
    {
        "name",
        "owner_id",
        "meta",
        "permissions",
        "roles",
        "not_before",
        "expires_at",
        "restrictions",
        "enabled",
        *LIMIT_FIELDS,
        "plan_id",
        "rotation_policy",
    }
)
CREATE_FIELDS = _KEY_FIELDS | {"api_id", "environment"}
UPDATE_FIELDS = _KEY_FIELDS | {"reset_quota"}
DEFAULT_FIELDS = frozenset(
    {"permissions", "roles", "meta", "restrictions", "environment", "expires_in_s", "enabled"}
)


MAX_PAGE = 1000


def page_cursor(kind: str, cursor: object) -> str | None:
    """A list's cursor: None, or an id of ``kind`` this API handed out."""
    if cursor is not None and (not isinstance(cursor, str) or not looks_like_id(kind, cursor)):
        raise ValidationError("the cursor is not one this API handed out", field="cursor")
    return cursor


def page_size(limit: object) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit is 1 to {MAX_PAGE}", field="limit")


def text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TEXT:
        raise ValidationError(f"{name} is a string of 1 to {MAX_TEXT} characters", field=name)
    if "\x00" in value:
        raise ValidationError(f"{name} must not contain NUL characters", field=name)
    return value


def required_text(value: object, name: str) -> str:
    """``text`` for a field that may not be empty or null."""
    checked = text(value, name)
    if checked is None:
        raise ValidationError(f"{name} is required", field=name)
    return checked


def meta(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError("meta is a JSON object", field="meta")
    try:
        encoded = orjson.dumps(value)
    except TypeError:
        raise ValidationError("meta must hold JSON values only", field="meta") from None
    if b"\\u0000" in encoded:  # neither PostgreSQL text nor JSONB can hold NUL
        raise ValidationError("meta must not contain NUL characters", field="meta")
    if len(encoded) > MAX_META_BYTES:
        raise ValidationError(f"meta is at most {MAX_META_BYTES} bytes of JSON", field="meta")
    decoded: dict[str, Any] = orjson.loads(encoded)
    return decoded


def permissions(value: object) -> tuple[str, ...]:
    items = _string_list(value, "permissions")
    checked = (validate_permission(p, f"permissions[{i}]") for i, p in enumerate(items))
    return tuple(dict.fromkeys(checked))


def roles(value: object) -> tuple[str, ...]:
    items = _string_list(value, "roles")
    for index, item in enumerate(items):
        if ROLE_RE.fullmatch(item) is None:
            raise ValidationError(ROLE_RULE, field=f"roles[{index}]")
    return tuple(dict.fromkeys(items))


def environment(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or _ENV_RE.fullmatch(value) is None:
        raise ValidationError(
            f"an environment is 1 to {MAX_ENVIRONMENT} characters of a-z and 0-9",
            field="environment",
        )
    return value


def timestamp(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"{name} is an ISO 8601 date-time", field=name) from None
    if not isinstance(value, datetime):
        raise ValidationError(f"{name} is an ISO 8601 date-time", field=name)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if not MIN_TIME <= value < MAX_TIME:
        raise ValidationError(f"{name} must lie between {TIME_RANGE_TEXT}", field=name)
    return value


def restrictions(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError("restrictions is a JSON object", field="restrictions")
    compiled = Restrictions.from_dict(value)
    return None if compiled is None else compiled.to_dict()


def enabled(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("enabled is true or false", field="enabled")
    return value


def window(not_before: datetime | None, expires_at: datetime | None) -> None:
    if not_before is not None and expires_at is not None and expires_at <= not_before:
        raise ValidationError("expires_at must come after not_before", field="expires_at")


def unknown(given: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    extra = sorted(set(given) - allowed)
    if extra:
        raise ValidationError(f"unknown {what} field '{extra[0]}'", field=extra[0])


def key_defaults(value: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate an API's defaults for new keys; returns their canonical form."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError("key_defaults is a JSON object", field="key_defaults")
    unknown(value, DEFAULT_FIELDS, "key_defaults")
    out: dict[str, Any] = {}
    if "permissions" in value:
        out["permissions"] = list(permissions(value["permissions"]))
    if "roles" in value:
        out["roles"] = list(roles(value["roles"]))
    if "meta" in value:
        out["meta"] = meta(value["meta"])
    if "restrictions" in value:
        out["restrictions"] = restrictions(value["restrictions"])
    if "environment" in value:
        out["environment"] = environment(value["environment"])
    if "enabled" in value:
        out["enabled"] = enabled(value["enabled"])
    if "expires_in_s" in value:
        seconds = value["expires_in_s"]
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int)
            or not (1 <= seconds <= 100 * 365 * 86400)
        ):
            raise ValidationError(
                "expires_in_s is a whole number of seconds, 1 to 100 years",
                field="key_defaults.expires_in_s",
            )
        out["expires_in_s"] = seconds
    return out


def _string_list(value: object, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise ValidationError(f"{name} is a list of strings", field=name)
    if len(value) > MAX_LIST:
        raise ValidationError(f"{name} holds at most {MAX_LIST} entries", field=name)
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ValidationError(f"{name} is a list of strings", field=f"{name}[{index}]")
    return list(value)
