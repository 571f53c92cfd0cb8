"""RFC 5424 and CEF formatting: header fields, escaping, truncation, and
redaction of key material in every format a sink writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pydantic
import pytest

from keystead.config import Settings
from keystead.core import keyformat
from keystead.errors import ConfigurationError, ValidationError
from keystead.events.exporters import ExportRecord, Severity
from keystead.events.exporters import jsonl as jsonl_format
from keystead.events.exporters.cef import (
    escape_header,
    escape_value,
    extension_key,
    format_cef,
)
from keystead.events.exporters.rfc5424 import (
    SyslogFormat,
    facility_code,
    header_field,
    sd_escape,
    sd_name,
)

WHEN = datetime(2026, 5, 4, 3, 2, 1, 500, tzinfo=UTC)
FORMAT = SyslogFormat(hostname="web1", procid="42")


def record(name: str = "key.revoked", severity: int = 5, **fields: Any) -> ExportRecord:
    return ExportRecord(kind="audit", time=WHEN, severity=severity, name=name, fields=fields)


def test_an_rfc5424_message_has_every_header_field() -> None:
    data, truncated = FORMAT.encode(record(key_id="key_1", count=3, ok=True, gone=None))  # left out
    assert not truncated
    assert data == (
        b"<133>1 2026-05-04T03:02:01.000500Z web1 keystead 42 key.revoked "
        b'[keystead@32473 kind="audit" key_id="key_1" count="3" ok="true"] '
        b"key.revoked"
    )


def test_priority_is_facility_times_eight_plus_severity() -> None:
    fmt = SyslogFormat(facility=facility_code("local3"), hostname="h", procid="1")
    assert fmt.encode(record(severity=Severity.ERROR))[0].startswith(b"<155>1 ")
    assert facility_code("16") == 16 and facility_code("AUTH") == 4
    with pytest.raises(ConfigurationError, match="facility"):
        facility_code("local9")


def test_timestamps_are_utc_and_naive_means_utc() -> None:
    east = datetime(2026, 5, 4, 5, 2, 1, tzinfo=timezone(timedelta(hours=2)))
    naive = datetime(2026, 5, 4, 3, 2, 1)
    for moment in (east, naive):
        rec = ExportRecord(kind="event", time=moment, severity=6, name="x")
        assert b" 2026-05-04T03:02:01.000000Z " in FORMAT.encode(rec)[0]


def test_structured_data_escapes_quote_backslash_and_bracket() -> None:
    assert sd_escape('a"b\\c]d[e') == 'a\\"b\\\\c\\]d[e'
    data = FORMAT.encode(record(note='x"]\\'))[0]
    assert b'note="x\\"\\]\\\\"]' in data


def test_names_and_header_fields_are_made_valid() -> None:
    assert sd_name('a b=c]d"e') == "a_b_c_d_e"
    assert sd_name("x" * 40) == "x" * 32
    assert sd_name("") == "_"
    assert header_field("two words\n", 48) == "two_words_"
    assert header_field("", 48) == "-"
    data = FORMAT.encode(record(name="has space and a very long name beyond 32 chars"))[0]
    assert data.split(b" ")[5] == b"has_space_and_a_very_long_name_b"


def test_nested_values_become_json() -> None:
    data = FORMAT.encode(record(tags=["a", "b"], meta={"z": 1, "a": [True]}))[0]
    assert b'tags="[\\"a\\",\\"b\\"\\]"' in data
    assert b'meta="{\\"a\\":[true\\],\\"z\\":1}"' in data


def test_a_long_message_loses_parameters_then_msg_within_the_limit() -> None:
    fields = {f"f{i}": "v" * 50 for i in range(40)}
    rec = ExportRecord(kind="audit", time=WHEN, severity=5, name="key.revoked", fields=fields)
    data, truncated = FORMAT.encode(rec, max_bytes=600)
    assert truncated and len(data) <= 600
    assert data.endswith(b' truncated="true"] key.revoked')
    assert b'f0="' in data and b"f39" not in data


def test_truncation_never_splits_a_utf8_character() -> None:
    data, truncated = FORMAT.assemble("<14>1 - h a - m", None, "é" * 400, max_bytes=480)
    assert truncated and len(data) <= 480
    data.decode("utf-8")  # no partial character at the end


def test_cef_header_and_extension_escaping() -> None:
    assert escape_header("a|b\\c\nd") == "a\\|b\\\\c d"
    assert escape_value("a=b\\c|d\r\ne\nf\rg") == "a\\=b\\\\c|d\\ne\\nf\\rg"
    assert extension_key("key_id") == "keyId"
    assert extension_key("dst-ip.v4") == "dstIpV4"
    assert extension_key("__") == "field"


def test_a_cef_line() -> None:
    line = format_cef(record("key.rev|oked", 3, key_id="key_1", n=2, key__id="dup"), "1.2.3")
    assert line == (
        "CEF:0|Keystead|Keystead|1.2.3|key.rev\\|oked|audit key.rev\\|oked|7|"
        "rt=1777863721000 cat=audit keyId=key_1 n=2 keyId2=dup"
    )


def test_cef_severity_follows_syslog_severity() -> None:
    levels = [format_cef(record(severity=s)).split("|")[6] for s in range(8)]
    assert levels == ["10", "10", "9", "7", "5", "3", "1", "0"]


def test_a_record_checks_kind_and_severity() -> None:
    with pytest.raises(ValidationError):
        ExportRecord(kind="bogus", time=WHEN, severity=1, name="x")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ExportRecord(kind="usage", time=WHEN, severity=8, name="x")


class Opaque:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def test_key_material_is_redacted_in_every_format() -> None:
    key = keyformat.generate("ks")
    other = keyformat.generate("live_test")
    rec = ExportRecord(
        kind="usage",
        time=WHEN,
        severity=4,
        name=f"verify {key}",
        fields={
            "plain": f"Bearer {key}",
            key: "as a field name",
            "nested": {"deep": [f"x{other}", {"k": key}]},
            "object": Opaque(f"repr {key}"),
            "bytes": key.encode(),
        },
    )
    outputs = {
        "rfc5424": FORMAT.encode(rec)[0].decode(),
        "cef": format_cef(rec),
        "jsonl": jsonl_format.encode(rec).decode(),
    }
    for name, text in outputs.items():
        assert key not in text and other not in text, name
        assert keyformat.REDACTED in text, name
    decoded = orjson.loads(outputs["jsonl"])
    assert decoded["fields"]["nested"]["deep"][1]["k"] == keyformat.REDACTED


@pytest.mark.parametrize(
    "sd_id", ["keystead", "keystead@", "a b@1", "a=b@1", "k@1a", "x" * 30 + "@123"]
)
def test_the_sd_id_setting_must_name_an_enterprise_number(sd_id: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="private enterprise number"):
        Settings(_env_file=None, syslog_sd_id=sd_id)
    assert Settings(_env_file=None, syslog_sd_id="acme-keys@32473.7").syslog_sd_id


def test_cef_leaves_absent_values_out() -> None:
    line = format_cef(record(key_id="key_1", owner_id=None))
    assert "keyId=key_1" in line and "ownerId" not in line and "null" not in line
