"""The canonical form's cheaper writers give the very bytes of the documented form
(docs/audit.md): ``stamp`` against ``strftime``, ``canonical_json`` against
``json.dumps`` with the documented options, and the SQLite appender's time text
against SQLAlchemy's own ``DATETIME`` processor, over arbitrary values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from keystead.core.audit import canonical_json, stamp
from keystead.store.sql.audit_sqlite import sqlite_time
from keystead.store.sql.tables import audit

ZONES = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60)
)
MOMENTS = st.datetimes(
    min_value=datetime(1001, 1, 2), max_value=datetime(9998, 12, 30), timezones=ZONES
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(MOMENTS)
def test_stamp_writes_what_strftime_writes(moment: datetime) -> None:
    assert stamp(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_stamp_of_a_year_below_1000_keeps_strftimes_text() -> None:
    early = datetime(999, 5, 6, 7, 8, 9, 10, tzinfo=UTC)
    assert stamp(early) == early.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@given(st.dictionaries(st.text(), JSON, max_size=8))
def test_canonical_json_is_json_dumps_with_the_documented_options(value: dict[str, Any]) -> None:
    expected = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
    assert canonical_json(value) == expected


@given(st.datetimes(timezones=st.none() | ZONES))
def test_the_sqlite_appenders_time_is_sqlalchemys(moment: datetime) -> None:
    dialect = sqlite.dialect()
    process = audit.c.at.type.dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert sqlite_time(moment) == process(moment)
