"""Query values of the custody pages (leaks, incidents, tokens), checked as the
``/v1`` routes' schemas check them: a malformed one is a 422, never a lookup."""

from __future__ import annotations

import re

from keystead.errors import ValidationError
from keystead.web.routing import WebRequest

_ID = re.compile(r"[a-z]{1,16}_[0-9A-HJKMNP-TV-Z]{26}")  # keystead.core.ids
PAGE_SIZE = 50


def object_id(value: str | None, field: str) -> str | None:
    """``value`` when it is a Keystead id (None stays None), else ValidationError."""
    if value is None:
        return None
    if _ID.fullmatch(value) is None:
        raise ValidationError(f"{field} is not a Keystead id", field=field)
    return value


def query_id(req: WebRequest, name: str) -> str | None:
    return object_id(req.query(name), name)


__all__ = ["PAGE_SIZE", "object_id", "query_id"]
