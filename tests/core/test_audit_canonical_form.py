"""The canonical form's cheaper writers give the very bytes of the documented form
(docs/audit.md): ``stamp`` against ``strftime``, ``canonical_json`` against
``json.dumps`` with the documented options (or its very error), the stored text of
an entry's changes against ``json.dumps(sort_keys=True)``, and the SQLite
appender's time text against SQLAlchemy's own ``DATETIME`` processor, over arbitrary
values: every code point, floats, integers past 64 bits, keys that are not strings,
subclasses of str and int."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum, IntEnum, StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from keystead.core.audit import canonical_json, stamp
from keystead.store.sql.audit_chain import changes_text
from keystead.store.sql.audit_sqlite import sqlite_time
from keystead.store.sql.tables import audit

ZONES = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60)
)
MOMENTS = st.datetimes(
    min_value=datetime(1001, 1, 2), max_value=datetime(9998, 12, 30), timezones=ZONES
)


class Colour(StrEnum):
    RED = "red"


class Size(IntEnum):
    BIG = 3


LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**66).map(lambda n: n * -1 if n % 2 else n)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from([Colour.RED, Size.BIG])
)
KEYS = st.text() | st.sampled_from(["a", "b", "\x7f", "\u2028", "é", "𝄞"])
JSON = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(KEYS, inner, max_size=4)
    ),
    max_leaves=20,
)


def _documented(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _outcome(encode: Callable[[Any], bytes], value: Any) -> bytes | type[BaseException]:
    try:
        return encode(value)
    except (TypeError, ValueError) as exc:
        return type(exc)


@given(MOMENTS)
def test_stamp_writes_what_strftime_writes(moment: datetime) -> None:
    assert stamp(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_stamp_of_a_year_below_1000_keeps_strftimes_text() -> None:
    early = datetime(999, 5, 6, 7, 8, 9, 10, tzinfo=UTC)
    assert stamp(early) == early.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@given(st.dictionaries(KEYS, JSON, max_size=8))
def test_canonical_json_is_json_dumps_with_the_documented_options(value: dict[str, Any]) -> None:
    assert canonical_json(value) == _documented(value)


@given(st.dictionaries(st.text() | st.integers() | st.booleans() | st.none(), JSON, max_size=4))
def test_canonical_json_of_keys_that_are_not_strings_is_json_dumps_or_its_error(
    value: dict[Any, Any],
) -> None:
    assert _outcome(canonical_json, value) == _outcome(_documented, value)


@pytest.mark.parametrize(
    "value",
    [
        {"n": math.nan},
        {"n": [math.inf]},
        {"when": datetime(2026, 1, 2, tzinfo=UTC)},
        {"what": Enum("Plain", "ONE").ONE},  # type: ignore[attr-defined]
        {"what": {1, 2}},
        {"what": b"bytes"},
    ],
)
def test_canonical_json_refuses_what_json_dumps_refuses(value: dict[str, Any]) -> None:
    expected = _outcome(_documented, value)
    assert isinstance(expected, type)
    assert _outcome(canonical_json, value) is expected


@given(st.dictionaries(KEYS, JSON | st.sampled_from([math.nan, -math.inf]), max_size=8))
def test_the_stored_changes_are_json_dumps_with_sorted_keys(value: dict[str, Any]) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"))
    assert changes_text(value) == expected


def test_canonical_json_writes_every_code_point_as_json_dumps_does() -> None:
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    value = {text: text, "keys": {chr(c): c for c in range(0x2100)}}
    assert canonical_json(value) == _documented(value)


@given(st.datetimes(timezones=st.none() | ZONES))
def test_the_sqlite_appenders_time_is_sqlalchemys(moment: datetime) -> None:
    dialect = sqlite.dialect()
    process = audit.c.at.type.dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert sqlite_time(moment) == process(moment)
