"""What every export sink shares: the record, the protocol, counters, redaction."""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from keystead.core.keyformat import redact_keys
from keystead.errors import ValidationError

Kind = Literal["usage", "alert", "audit", "event"]
KINDS: tuple[Kind, ...] = ("usage", "alert", "audit", "event")
_MAX_DEPTH = 8


class Severity(enum.IntEnum):
    """Syslog severities (RFC 5424 §6.2.1)."""

    EMERGENCY = 0
    ALERT = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFO = 6
    DEBUG = 7


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """One thing to export. ``severity`` is a syslog severity (0-7), ``name`` a
    short event name (``key.revoked``, ``verify``...), ``fields`` JSON-like data."""

    kind: Kind
    time: datetime
    severity: int
    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValidationError(f"kind is one of {', '.join(KINDS)}", field="kind")
        if not 0 <= self.severity <= 7:
            raise ValidationError("severity is a syslog severity, 0 to 7", field="severity")


@dataclass(slots=True)
class SinkStats:
    """Counters of one sink. ``dropped`` counts records that will never be
    delivered; ``errors`` counts failed attempts (connect, write, send)."""

    sent: int = 0
    dropped: int = 0
    errors: int = 0
    truncated: int = 0
    reconnects: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@runtime_checkable
class Sink(Protocol):
    """Where export records go. ``emit`` never raises on a delivery failure:
    it counts it in ``stats`` and logs a warning without record contents."""

    stats: SinkStats

    @property
    def target(self) -> str:
        """Where it sends to, safe to log (no credentials, no query)."""
        ...

    async def emit(self, records: Sequence[ExportRecord]) -> None: ...

    async def close(self) -> None: ...


def scrub(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-ready data with every string passed through
    :func:`~keystead.core.keyformat.redact_keys`; anything unknown becomes
    its (redacted) ``str``. Every sink formats only what this returns."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return redact_keys(value)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, enum.Enum):
        return scrub(value.value, depth)
    if depth >= _MAX_DEPTH:
        return redact_keys(str(value))
    if isinstance(value, Mapping):
        return {redact_keys(str(k)): scrub(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(item, depth + 1) for item in value]
    if isinstance(value, bytes):
        return redact_keys(value.decode("utf-8", "replace"))
    return redact_keys(str(value))


def scrub_fields(record: ExportRecord) -> dict[str, Any]:
    """The record's fields, scrubbed (see :func:`scrub`)."""
    scrubbed: dict[str, Any] = scrub(dict(record.fields))
    return scrubbed


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and ``Z``; a naive time is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


__all__ = [
    "KINDS",
    "ExportRecord",
    "Kind",
    "Severity",
    "Sink",
    "SinkStats",
    "format_time",
    "scrub",
    "scrub_fields",
]
