"""What a limit is: four frozen spec types, validated on construction.

``from_dict`` reads the JSON form strictly (unknown fields, wrong types and
out-of-range values raise :class:`keystead.errors.ValidationError` naming the
field); ``to_dict`` writes it back so that ``from_dict(s.to_dict()) == s``.
Each spec precomputes what the algorithms need once (hidden ``_``-fields, not
part of equality or the JSON form), so a decision does no setup work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeAlias
from zoneinfo import ZoneInfo

from keystead.core.zones import zone_named
from keystead.errors import ValidationError

Algorithm = Literal["gcra", "sliding_window"]
Period = Literal["day", "week", "month"]
RefillMode = Literal["set", "add"]

MAX_COUNT = 10**12
"""Largest limit, burst, credit amount or balance a spec accepts."""
MAX_LOG_LIMIT = 100_000
"""Largest ``limit`` of a sliding window: its log keeps up to ``limit`` entries."""
MAX_SECONDS = 400 * 86_400.0
"""Longest duration, refill interval or lease (a little over a year)."""
PERIOD_MIN_S = {"day": 86_400, "week": 7 * 86_400, "month": 28 * 86_400}


def _f(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _int(value: Any, name: str, low: int, high: int = MAX_COUNT) -> int:
    if type(value) is not int:
        raise ValidationError(f"{name} must be an integer", field=name)
    if not low <= value <= high:
        raise ValidationError(f"{name} must be between {low} and {high}", field=name)
    return value


def _seconds(value: Any, name: str) -> float:
    if type(value) not in (int, float):
        raise ValidationError(f"{name} must be a number of seconds", field=name)
    if not 0 < value <= MAX_SECONDS:
        raise ValidationError(f"{name} must be > 0 and <= {MAX_SECONDS:.0f}", field=name)
    return float(value)


def _choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices or type(value) is not str:
        raise ValidationError(f"{name} must be one of {', '.join(choices)}", field=name)
    return value


def _fields(
    data: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...]
) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationError(f"{path or 'spec'} must be an object", field=path or None)
    for name in data:
        if name not in required and name not in optional:
            raise ValidationError(f"unknown field {name!r}", field=_f(path, str(name)))
    for name in required:
        if name not in data:
            raise ValidationError(f"{name} is required", field=_f(path, name))
    return data


def _rename(error: ValidationError, path: str) -> ValidationError:
    """Re-raise a constructor error with the full JSON path of the field."""
    name = error.field or ""
    return ValidationError(error.detail.replace(name, _f(path, name), 1), field=_f(path, name))


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``limit`` units per ``duration_s``; GCRA allows ``burst`` at once."""

    kind: ClassVar[str] = "rate_limit"
    name: str
    limit: int
    duration_s: float
    burst: int | None = None
    algorithm: Algorithm = "gcra"
    _interval: float = field(init=False, repr=False, compare=False)
    _tolerance: float = field(init=False, repr=False, compare=False)
    _burst: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if type(self.name) is not str or not 1 <= len(self.name) <= 64:
            raise ValidationError("name must be a string of 1 to 64 characters", field="name")
        _choice(self.algorithm, "algorithm", ("gcra", "sliding_window"))
        high = MAX_LOG_LIMIT if self.algorithm == "sliding_window" else MAX_COUNT
        _int(self.limit, "limit", 1, high)
        object.__setattr__(self, "duration_s", _seconds(self.duration_s, "duration_s"))
        if self.burst is not None:
            if self.algorithm != "gcra":
                raise ValidationError("burst applies to the gcra algorithm only", field="burst")
            _int(self.burst, "burst", 1)
        interval = self.duration_s / self.limit
        object.__setattr__(self, "_burst", self.effective_burst)
        object.__setattr__(self, "_interval", interval)
        object.__setattr__(self, "_tolerance", self.effective_burst * interval)

    @property
    def effective_burst(self) -> int:
        return self.limit if self.burst is None else self.burst

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> RateLimit:
        d = _fields(data, path, ("name", "limit", "duration_s"), ("burst", "algorithm"))
        try:
            return cls(
                name=d["name"],
                limit=d["limit"],
                duration_s=d["duration_s"],
                burst=d.get("burst"),
                algorithm=d.get("algorithm", "gcra"),
            )
        except ValidationError as error:
            raise _rename(error, path) from None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "limit": self.limit,
            "duration_s": self.duration_s,
            "algorithm": self.algorithm,
        }
        if self.burst is not None:
            out["burst"] = self.burst
        return out


@dataclass(frozen=True, slots=True)
class Quota:
    """``limit`` units per calendar ``period`` in ``timezone``, shifted by ``offset_s``."""

    kind: ClassVar[str] = "quota"
    limit: int
    period: Period = "month"
    timezone: str = "UTC"
    offset_s: int = 0
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _int(self.limit, "limit", 0)
        _choice(self.period, "period", ("day", "week", "month"))
        _int(self.offset_s, "offset_s", 0, PERIOD_MIN_S[self.period] - 1)
        if type(self.timezone) is not str or not self.timezone:
            raise ValidationError("timezone must be an IANA zone name", field="timezone")
        try:
            zone = zone_named(self.timezone)
        except ValueError:
            raise ValidationError(
                f"unknown time zone {self.timezone!r}", field="timezone"
            ) from None
        object.__setattr__(self, "_zone", zone)

    @property
    def name(self) -> str:
        return "quota"

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> Quota:
        d = _fields(data, path, ("limit",), ("period", "timezone", "offset_s"))
        try:
            return cls(
                limit=d["limit"],
                period=d.get("period", "month"),
                timezone=d.get("timezone", "UTC"),
                offset_s=d.get("offset_s", 0),
            )
        except ValidationError as error:
            raise _rename(error, path) from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "period": self.period,
            "timezone": self.timezone,
            "offset_s": self.offset_s,
        }


@dataclass(frozen=True, slots=True)
class Refill:
    """Every ``interval_s``: "set" tops the balance up to ``amount`` (never
    lowers it); "add" adds ``amount``, up to ``cap`` when one is given."""

    amount: int
    interval_s: float
    mode: RefillMode = "set"
    cap: int | None = None

    def __post_init__(self) -> None:
        _int(self.amount, "amount", 1)
        object.__setattr__(self, "interval_s", _seconds(self.interval_s, "interval_s"))
        _choice(self.mode, "mode", ("set", "add"))
        if self.cap is not None:
            if self.mode != "add":
                raise ValidationError("cap applies to the add mode only", field="cap")
            _int(self.cap, "cap", 1)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> Refill:
        d = _fields(data, path, ("amount", "interval_s"), ("mode", "cap"))
        try:
            return cls(d["amount"], d["interval_s"], d.get("mode", "set"), d.get("cap"))
        except ValidationError as error:
            raise _rename(error, path) from None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "amount": self.amount,
            "interval_s": self.interval_s,
            "mode": self.mode,
        }
        if self.cap is not None:
            out["cap"] = self.cap
        return out


@dataclass(frozen=True, slots=True)
class Credits:
    """A balance that each request spends ``cost`` of; ``remaining`` is the
    starting balance, used the first time a counter is seen."""

    kind: ClassVar[str] = "credits"
    remaining: int
    refill: Refill | None = None

    def __post_init__(self) -> None:
        _int(self.remaining, "remaining", 0)
        if self.refill is not None and not isinstance(self.refill, Refill):
            raise ValidationError("refill must be a Refill", field="refill")

    @property
    def name(self) -> str:
        return "credits"

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> Credits:
        d = _fields(data, path, ("remaining",), ("refill",))
        refill = d.get("refill")
        try:
            parsed = None if refill is None else Refill.from_dict(refill, _f(path, "refill"))
            return cls(d["remaining"], parsed)
        except ValidationError as error:
            if error.field and error.field.startswith(_f(path, "refill")):
                raise
            raise _rename(error, path) from None

    def to_dict(self) -> dict[str, Any]:
        refill = None if self.refill is None else self.refill.to_dict()
        return {"remaining": self.remaining, "refill": refill}


@dataclass(frozen=True, slots=True)
class Concurrency:
    """At most ``limit`` requests in flight; a lease not released within
    ``lease_s`` seconds is reclaimed."""

    kind: ClassVar[str] = "concurrency"
    limit: int
    lease_s: float = 60.0

    def __post_init__(self) -> None:
        _int(self.limit, "limit", 1, 1_000_000)
        object.__setattr__(self, "lease_s", _seconds(self.lease_s, "lease_s"))

    @property
    def name(self) -> str:
        return "concurrency"

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> Concurrency:
        d = _fields(data, path, ("limit",), ("lease_s",))
        try:
            return cls(d["limit"], d.get("lease_s", 60.0))
        except ValidationError as error:
            raise _rename(error, path) from None

    def to_dict(self) -> dict[str, Any]:
        return {"limit": self.limit, "lease_s": self.lease_s}


Spec: TypeAlias = RateLimit | Quota | Credits | Concurrency
"""Any one limit a :class:`~keystead.limits.Check` can name."""
