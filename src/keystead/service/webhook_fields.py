"""Validation of webhook endpoints: URL, event types, description, rotation overlap.

Every failure is a ``ValidationError`` that names the field. The bounds are
defined here once; ``keystead.http.webhook_schemas`` and ``fieldtypes.Description``
take theirs from them. The checks stay double because the library and the CLI
call the service without passing through the pydantic models.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from keystead.core.events import EVENT_TYPES
from keystead.errors import ValidationError
from keystead.service.fields import MAX_DESCRIPTION

MAX_URL = 2048
DEFAULT_OVERLAP_S = 86_400
MAX_OVERLAP_S = 30 * 86_400
ALL_EVENTS = "*"
CHANGE_FIELDS = frozenset({"url", "events", "description", "enabled"})


def url(value: object) -> str:
    """An absolute http(s) URL with a host (no whitespace or control characters)."""
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_URL:
        raise ValidationError(f"url is a string of 1 to {MAX_URL} characters", field="url")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError("url must not contain spaces or control characters", field="url")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError:
        raise ValidationError("url is not a valid URL", field="url") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError("url must start with http:// or https://", field="url")
    if not parts.hostname:
        raise ValidationError("url must name a host", field="url")
    return value


def event_types(value: object) -> tuple[str, ...]:
    """A non-empty list of known event types, or ``["*"]`` for all of them."""
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError(
            'events is a non-empty list of event types (or ["*"] for all)', field="events"
        )
    if len(value) > len(EVENT_TYPES) + 1:
        raise ValidationError("events names each type at most once", field="events")
    known = {*EVENT_TYPES, ALL_EVENTS}
    for index, item in enumerate(value):
        if not isinstance(item, str) or item not in known:
            raise ValidationError(
                f"unknown event type; known types: {', '.join(EVENT_TYPES)} (or *)",
                field=f"events[{index}]",
            )
    if ALL_EVENTS in value:
        return (ALL_EVENTS,)
    return tuple(dict.fromkeys(value))


def description(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION or "\x00" in value:
        raise ValidationError(
            f"description is up to {MAX_DESCRIPTION} characters, without NUL",
            field="description",
        )
    return value


def enabled(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("enabled is true or false", field="enabled")
    return value


def overlap(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OVERLAP_S:
        raise ValidationError(
            f"expire_old_after_s is a whole number of seconds, 0 to {MAX_OVERLAP_S}",
            field="expire_old_after_s",
        )
    return value


__all__ = [
    "ALL_EVENTS",
    "CHANGE_FIELDS",
    "DEFAULT_OVERLAP_S",
    "MAX_DESCRIPTION",
    "MAX_OVERLAP_S",
    "MAX_URL",
    "description",
    "enabled",
    "event_types",
    "overlap",
    "url",
]
