"""Reading typed values out of a dashboard form: every failure is a
``ValidationError`` naming the field, so the page re-renders the form with the
message next to it."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from keystead.errors import ValidationError

DONE = {
    "created": "Created.",
    "updated": "Saved.",
    "deleted": "Deleted.",
    "enabled": "Enabled.",
    "disabled": "Disabled.",
    "replayed": "Queued again: it will be delivered shortly.",
    "acknowledged": "Acknowledged.",
    "resolved": "Resolved.",
    "revoked": "Revoked.",
}
"""Messages a page shows after a redirect with ``?done=``: fixed texts, never
the query value itself."""


def done_message(value: str | None) -> str | None:
    return DONE.get(value or "")


def text(form: FormData, name: str) -> str | None:
    """The stripped value; empty or absent -> None."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def texts(form: FormData, name: str) -> list[str]:
    """Every non-empty value of a repeated field (checkboxes, multi-selects)."""
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def checked(form: FormData, name: str) -> bool:
    return form.get(name) is not None


def whole(form: FormData, name: str) -> int | None:
    value = text(form, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationError(f"{name} is a whole number", field=name) from None


def number(form: FormData, name: str) -> float | int | None:
    value = text(form, name)
    if value is None:
        return None
    try:
        parsed = float(value)
    except ValueError:
        raise ValidationError(f"{name} is a number", field=name) from None
    if parsed != parsed or parsed in (float("inf"), float("-inf")):
        raise ValidationError(f"{name} is a number", field=name)
    return int(parsed) if parsed.is_integer() and "." not in value else parsed


def typed(form: FormData) -> dict[str, Any]:
    """What the person typed (for re-rendering a refused form): single values,
    lists for repeated fields, without the CSRF token."""
    values: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key == "csrf" or not isinstance(value, str):
            continue
        if key in values:
            previous = values[key]
            values[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            values[key] = value
    return values


def error_of(exc: ValidationError | None) -> tuple[str | None, str | None]:
    """``(field, message)`` of a refused form (field None: a form-wide message)."""
    if exc is None:
        return None, None
    return exc.field, exc.detail


def outcome(error: ValidationError | None, done: str | None) -> dict[str, Any]:
    """What a form page shows of the last submission: its status (422 when
    refused), the refused field and message, and the flash of a ``?done=``."""
    field, message = error_of(error)
    status = 200 if error is None else 422
    return {"status": status, "error_field": field, "error": message, "done": done_message(done)}


__all__ = [
    "checked",
    "done_message",
    "error_of",
    "number",
    "outcome",
    "text",
    "texts",
    "typed",
    "whole",
]
