"""What Vault's HTTP API looks like on the wire: the request and answer types of
the Vault face, its response envelope, its error body, its duration strings and
its timestamps.

- The envelope: ``request_id``, ``lease_id``, ``renewable``, ``lease_duration``,
  ``data``, ``wrap_info``, ``warnings``, ``auth`` (and ``mount_type`` where Vault
  sends it).
- Errors: ``{"errors": [...]}`` with Vault's status codes, always
  ``Content-Type: application/json`` (hvac reads the errors only then).
- Durations as Go prints and parses them: ``0s``, ``30s``, ``1h``, ``2h45m``;
  a bare number (or numeric string) is seconds, as Vault accepts.
- Times as Go's RFC 3339 with nanoseconds: ``2026-01-02T03:04:05.123456Z``
  (trailing zeros of the fraction trimmed), ``""`` for "none".
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from keystead.core.authz import Principal
from keystead.core.keyformat import redact_keys
from keystead.service import Keystead

JSON_TYPE = (b"content-type", b"application/json")


class VaultError(Exception):
    """An answer ``{"errors": messages}`` with ``status`` (and, for the few Vault
    errors that carry one, a ``data`` body in the envelope, e.g. a deleted version)."""

    def __init__(
        self, status: int, messages: Sequence[str] = (), *, data: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status}: {', '.join(messages)}")
        self.status = status
        self.messages = list(messages)
        self.data = data


def bad_request(message: str) -> VaultError:
    return VaultError(400, [message])


PERMISSION_DENIED = "permission denied"


@dataclass(slots=True)
class VaultRequest:
    """One call of the Vault face, parsed. ``rest`` is the path below the mount (or
    below ``sys/``, ``auth/``), without leading or trailing ``/``; ``body`` is the
    parsed JSON object (``{}`` without a body); ``query`` keeps the last value of
    each parameter. ``method`` is upper case and ``LIST`` for ``GET ?list=true``."""

    method: str
    rest: str
    query: dict[str, str]
    body: dict[str, Any]
    principal: Principal
    service: Keystead
    request_id: str
    content_type: str = ""


@dataclass(slots=True)
class VaultResponse:
    """An answer: 204 without a body when ``status`` is 204; otherwise ``body`` as
    is when ``raw`` (``sys/health``), else wrapped in the envelope."""

    status: int = 200
    data: Any = None
    raw: Any = None
    mount_type: str | None = None
    warnings: list[str] | None = None
    auth: Any = None


NO_CONTENT = VaultResponse(status=204)


def envelope(
    request_id: str,
    data: Any,
    *,
    mount_type: str | None = None,
    warnings: list[str] | None = None,
    auth: Any = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "request_id": request_id,
        "lease_id": "",
        "renewable": False,
        "lease_duration": 0,
        "data": data,
        "wrap_info": None,
        "warnings": warnings,
        "auth": auth,
    }
    if mount_type is not None:
        out["mount_type"] = mount_type
    return out


def error_body(messages: Sequence[str]) -> bytes:
    """``{"errors": messages}``, with key-shaped text redacted (a key pasted as a path)."""
    return orjson.dumps({"errors": [redact_keys(m) for m in messages]})


# durations ----------------------------------------------------------------------
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
    "d": 86400 * 1_000_000_000,
}
_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)")
_MAX_DURATION_TEXT = 64


def parse_duration(value: object, name: str) -> int:
    """Whole seconds of a Vault duration: a number of seconds, a numeric string, or
    Go's form (``1h30m``, ``90s``, ``0s``; ``d`` for days, as Vault accepts).
    Anything else, a negative or a fraction of a second, is a 400."""
    if isinstance(value, bool):
        raise bad_request(f"{name}: a duration is a string such as '30s' or '1h', or seconds")
    if isinstance(value, int):
        if value < 0:
            raise bad_request(f"{name}: a duration is not negative")
        return value
    if isinstance(value, float):
        if value < 0 or not value.is_integer():
            raise bad_request(f"{name}: a duration is a whole number of seconds")
        return int(value)
    if not isinstance(value, str) or len(value) > _MAX_DURATION_TEXT:
        raise bad_request(f"{name}: a duration is a string such as '30s' or '1h', or seconds")
    text = value.strip()
    if text.isdigit():
        return int(text)
    if text in ("0", ""):
        return 0
    total, position = 0, 0
    for match in _DURATION_RE.finditer(text):
        if match.start() != position:
            break
        position = match.end()
        number, unit = match.group(1), match.group(2)
        whole, _, fraction = number.partition(".")
        scale = _UNIT_NS[unit]
        total += int(whole or "0") * scale
        if fraction:
            total += int(fraction) * scale // 10 ** len(fraction)
    if position != len(text) or position == 0:
        raise bad_request(f"{name}: {value!r} is not a duration (e.g. '0s', '30s', '1h', '2h45m')")
    seconds, rest = divmod(total, 1_000_000_000)
    if rest:
        raise bad_request(f"{name}: a duration is a whole number of seconds")
    return seconds


def format_duration(seconds: int) -> str:
    """Go's ``time.Duration.String()`` of whole seconds: ``0s``, ``45s``, ``2h45m0s``."""
    if seconds <= 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def new_request_id() -> str:
    """A random (version 4) UUID in its text form, as Vault's ``request_id``. It
    correlates a call with its audit entries and is no secret, so its bits come
    from ``random`` (reseeded in each forked worker), not a system call per call."""
    digits = f"{random.getrandbits(128):032x}"
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


# times --------------------------------------------------------------------------
def rfc3339(moment: datetime | None) -> str:
    """Go's ``RFC3339Nano`` in UTC (fraction trimmed of trailing zeros); "" for None."""
    if moment is None:
        return ""
    return _rfc3339(moment)


@functools.lru_cache(maxsize=4096)
def _rfc3339(moment: datetime) -> str:
    """Remembered: a read answers the same version's times again and again, and
    ``strftime`` is a noticeable part of a cached read's CPU."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    base = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        base += "." + f"{utc.microsecond:06d}".rstrip("0")
    return base + "Z"


__all__ = [
    "JSON_TYPE",
    "NO_CONTENT",
    "PERMISSION_DENIED",
    "VaultError",
    "VaultRequest",
    "VaultResponse",
    "bad_request",
    "envelope",
    "error_body",
    "format_duration",
    "new_request_id",
    "parse_duration",
    "rfc3339",
]
