"""The limits textarea shared by the plans and owners forms: a JSON object of
``ratelimits``, ``quota``, ``credits`` and ``concurrency`` (the ``/v1`` body's
limit fields), checked by the service; here only its shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from keystead.errors import ValidationError
from keystead.service.limit_fields import LIMIT_FIELDS

EXAMPLE = '{"ratelimits": [{"name": "day", "limit": 1000, "duration_s": 86400}]}'


def parse(text: str | None) -> dict[str, Any]:
    """The limit fields of the textarea (every one present: absent -> None)."""
    if text is None:
        return dict.fromkeys(LIMIT_FIELDS)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ValidationError("limits is a JSON object", field="limits") from None
    if not isinstance(value, dict):
        raise ValidationError("limits is a JSON object", field="limits")
    unknown = sorted(set(value) - set(LIMIT_FIELDS))
    if unknown:
        raise ValidationError(
            f"unknown limit '{unknown[0]}'; use {', '.join(LIMIT_FIELDS)}", field="limits"
        )
    return {name: value.get(name) for name in LIMIT_FIELDS}


def show(limits: Mapping[str, Any]) -> str:
    """Stored limits as the textarea holds them ("" when none)."""
    present = {k: v for k, v in limits.items() if v not in (None, [], {})}
    return orjson.dumps(present, option=orjson.OPT_INDENT_2).decode() if present else ""
