"""What to say of a usage record a store refused: the names of its fields that
no store may hold as they are, never their values.

``to_record`` already makes every text storable (``core.text.storable_record``),
so what is left is mostly a number out of range or a whole record built
elsewhere (``UsageRecorder.add``). The recorder splits such a record out of its
batch, drops and counts it, and logs what ``suspects`` names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from keystead.core.text import TEXT_WIDTHS, problem_of
from keystead.core.usage import UsageRecord
from keystead.events.usage._rollup import SLOTS, to_fields

_INTEGERS = ("status", "bytes_in", "bytes_out")
_INT_RANGE = range(-(2**63), 2**63)
_LATEST_AT = 253_402_300_799.0  # 9999-12-31T23:59:59Z


def suspects(entries: Sequence[Any]) -> list[str]:
    """The fields of the entries' records (a flat batch, ``SLOTS`` per entry)
    that no store may hold as they are: names only, never values."""
    found: list[str] = []
    for i in range(0, len(entries), SLOTS):
        try:
            fields = _fields(entries[i : i + SLOTS])
        except Exception:  # an entry not even a record can be made of
            found.append("entry")
            continue
        for name, value in fields.items():
            if _suspect(name, value) and name not in found:
                found.append(name)
    return found


def _fields(entry: Sequence[Any]) -> dict[str, Any]:
    first, verdict, facts, principal = entry
    values = tuple(first) if verdict is None else to_fields((first, verdict, facts, principal))
    return dict(zip(UsageRecord._fields, values, strict=True))


def _suspect(name: str, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        width = TEXT_WIDTHS.get(name)
        return problem_of(value) is not None or (width is not None and len(value) > width)
    if name == "tags":
        return not isinstance(value, tuple | list) or any(
            not isinstance(tag, str) or _suspect("tags", tag) for tag in value
        )
    if name == "at":
        return not isinstance(value, int | float) or not 0 <= value <= _LATEST_AT
    if name == "response_ms":
        return not isinstance(value, int | float) or not math.isfinite(value)
    if name in _INTEGERS:
        return not isinstance(value, int) or value not in _INT_RANGE
    return False


__all__ = ["suspects"]
