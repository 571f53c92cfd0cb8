"""Time windows for the ``schedule`` restriction: weekdays and hour ranges in a zone.

Evaluated on local wall-clock time at ``now`` (an epoch float passed in), so
08:00 stays 08:00 across daylight saving changes; a range whose end is before
its start wraps midnight and belongs to the day it starts on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from keystead.core._patterns import MAX_PATTERN_LENGTH, WEEKDAYS, items, mapping
from keystead.core.zones import zone_named
from keystead.errors import ValidationError

# -- Time windows ------------------------------------------------------------------------------

_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])|24:00")


def parse_clock(text: str, *, end: bool) -> int:
    """``HH:MM`` as seconds since midnight; ``24:00`` is allowed as an end only."""
    if not _CLOCK.fullmatch(text) or (text == "24:00" and not end):
        raise ValueError("expected HH:MM between 00:00 and 23:59" + (" or 24:00" if end else ""))
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def parse_weekday(name: str) -> int:
    if name.lower() not in WEEKDAYS:
        raise ValueError(f"{name!r} is not one of {', '.join(WEEKDAYS)}")
    return WEEKDAYS.index(name.lower())


def parse_timezone(value: object, field: str) -> ZoneInfo:
    if not isinstance(value, str) or len(value) > MAX_PATTERN_LENGTH:
        raise ValidationError("must be an IANA time zone name", field=field)
    try:
        return zone_named(value)
    except ValueError:
        raise ValidationError(f"unknown time zone {value!r}", field=field) from None


def parse_hours(value: object, field: str) -> list[tuple[int, int]]:
    out = []
    for i, item in enumerate(items(value, field, "{start, end} objects")):
        data = mapping(item, f"{field}[{i}]", ("start", "end"))
        bounds = []
        for name in ("start", "end"):
            text = data.get(name)
            where = f"{field}[{i}].{name}"
            if not isinstance(text, str):
                raise ValidationError("required, HH:MM", field=where)
            try:
                bounds.append(parse_clock(text, end=name == "end"))
            except ValueError as exc:
                raise ValidationError(str(exc), field=where) from None
        if bounds[0] == bounds[1]:
            raise ValidationError("start and end must differ", field=f"{field}[{i}]")
        out.append((bounds[0], bounds[1]))
    return out


def clock_text(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def window(
    zone: ZoneInfo, days: frozenset[int], ranges: tuple[tuple[int, int], ...]
) -> Callable[[float], bool]:
    """Is the local wall-clock time at ``now`` on one of ``days`` (0 = Monday) and, when
    ``ranges`` are given, in one of them? A range with end < start wraps midnight and
    belongs to the day it starts on."""

    def within(now: float) -> bool:
        if not math.isfinite(now):
            return False
        try:
            local = datetime.fromtimestamp(now, zone)
        except (OverflowError, OSError, ValueError):
            return False
        day = local.weekday()
        if not ranges:
            return day in days
        t = local.hour * 3600 + local.minute * 60 + local.second
        for start, end in ranges:
            if start < end:
                if start <= t < end and day in days:
                    return True
            elif (t >= start and day in days) or (t < end and (day - 1) % 7 in days):
                return True
        return False

    return within
