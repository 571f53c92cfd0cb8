"""Parsing of option values: JSON objects (inline or ``@file``), times and durations.

Each failure is a :class:`UsageProblem` naming the option (exit code 2); whether
a well-formed value makes sense (a restriction's shape, say) is the service's call.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from keystead.cli._runtime import UsageProblem

_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def optional_json_object(text: str | None, option: str) -> dict[str, Any] | None:
    """:func:`json_object` (``@file`` allowed) of an option that may be absent."""
    return None if text is None else json_object(text, option, allow_file=True)


def json_value(text: str, option: str, *, allow_file: bool = True) -> Any:
    """Any JSON value given inline, or with ``allow_file`` as ``@path``."""
    source = text
    if allow_file and text.startswith("@"):
        path = Path(text[1:])
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageProblem(f"{option}: cannot read {path}: {exc.strerror}") from None
    try:
        return json.loads(source)
    except json.JSONDecodeError as exc:
        raise UsageProblem(
            f"{option} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise UsageProblem(f"{option} is nested too deeply") from None


def json_object(text: str, option: str, *, allow_file: bool = False) -> dict[str, Any]:
    """A JSON object given inline, or with ``allow_file`` as ``@path``."""
    value = json_value(text, option, allow_file=allow_file)
    if not isinstance(value, dict):
        raise UsageProblem(f'{option} must be a JSON object, like \'{{"plan": "pro"}}\'')
    return value


def timestamp(text: str, option: str) -> str:
    """An ISO 8601 date or date-time; a time without an offset is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageProblem(
            f"{option} is an ISO 8601 date-time, like 2030-01-31T12:00:00Z"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def duration(text: str, option: str) -> timedelta:
    """``90s``, ``15m``, ``12h``, ``30d``, ``2w`` or combinations such as ``1d12h``."""
    cleaned = text.strip().lower()
    parts = _DURATION_PART.findall(cleaned)
    if not parts or "".join(n + u for n, u in parts) != cleaned:
        raise UsageProblem(f"{option} is a duration such as 30d, 12h, 15m or 1d12h")
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds <= 0:
        raise UsageProblem(f"{option} must be longer than zero")
    return timedelta(seconds=seconds)


def expiry(expires_at: str | None, expires_in: str | None) -> str | None:
    """The expiry time from ``--expires-at`` or ``--expires-in`` (not both)."""
    if expires_at is not None and expires_in is not None:
        raise UsageProblem("give --expires-at or --expires-in, not both")
    if expires_at is not None:
        return timestamp(expires_at, "--expires-at")
    if expires_in is not None:
        try:
            moment = datetime.now(UTC) + duration(expires_in, "--expires-in")
        except OverflowError:
            raise UsageProblem("--expires-in is too long") from None
        return moment.isoformat()
    return None


RotationPolicyOption = Annotated[
    str | None,
    typer.Option(
        "--rotation-policy",
        help='JSON object or @file: {"max_age_s": 7776000, "grace_period_s": 86400, '
        '"warn_before_s": 1209600} (docs/lifecycle.md).',
    ),
]


class ChangeSet:
    """The fields a partial update sets (a value) or clears (``None``)."""

    def __init__(self) -> None:
        self.changes: dict[str, Any] = {}

    def put(
        self,
        field: str,
        value: Any,
        clear: bool,
        *,
        option: str | None = None,
        clear_option: str | None = None,
    ) -> None:
        flag = option or "--" + field.replace("_", "-")
        clear_flag = clear_option or "--clear-" + field.replace("_", "-")
        if clear and value is not None:
            raise UsageProblem(f"give {flag} or {clear_flag}, not both")
        if clear:
            self.changes[field] = None
        elif value is not None:
            self.changes[field] = value

    def require_some(self) -> dict[str, Any]:
        if not self.changes:
            raise UsageProblem("nothing to change: give at least one option (see --help)")
        return self.changes


def secret_argument(value: str, what: str) -> str:
    """A secret given as an argument, or ``-`` to read it from stdin (keeps it out of
    shell history)."""
    if value == "-":
        value = sys.stdin.readline()
    value = value.strip()
    if not value:
        raise UsageProblem(f"no {what} given")
    return value


__all__ = [
    "ChangeSet",
    "duration",
    "expiry",
    "json_object",
    "json_value",
    "optional_json_object",
    "secret_argument",
    "timestamp",
]
