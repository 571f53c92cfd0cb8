"""The syslog and CEF sinks against a real rsyslogd on loopback: it must parse
what we send as RFC 5424 (app name, msgid, structured data, msg), over UDP
datagrams and over octet-counted TCP, CEF included, and the TCP sink must
reconnect when rsyslogd restarts. Waits poll with generous deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from failed_auth import failed_auth
from rsyslog import Rsyslog, running_rsyslog

from keystead.config import Settings
from keystead.core import keyformat
from keystead.core.clock import ManualClock
from keystead.events.exporters import ExportRecord, Sink, open_sink
from keystead.service import Keystead

pytestmark = pytest.mark.slow

WHEN = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    with running_rsyslog(tmp_path) as server:
        yield server


def record(name: str, severity: int = 5, **fields: Any) -> ExportRecord:
    return ExportRecord(kind="audit", time=WHEN, severity=severity, name=name, fields=fields)


def sd_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


async def closing(sink: Sink, *records: ExportRecord) -> None:
    try:
        await sink.emit(records)
    finally:
        await sink.close()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_rsyslog_parses_our_rfc5424_messages(rsyslog: Rsyslog, transport: str) -> None:
    port = rsyslog.udp_port if transport == "udp" else rsyslog.tcp_port
    sink = open_sink(f"syslog+{transport}://127.0.0.1:{port}?facility=local3&hostname=node1")
    await closing(sink, record("key.revoked", 4, key_id="key_1", actor="root_9"))

    [got] = await rsyslog.wait_for(lambda m: len(m) == 1, "one message")
    assert got["app"] == "keystead"
    assert got["msgid"] == "key.revoked"
    assert got["host"] == "node1"
    assert got["facility"] == "local3" and got["severity"] == "4"
    assert got["sd"] == '[keystead@32473 kind="audit" key_id="key_1" actor="root_9"]'
    assert got["msg"] == "key.revoked"
    assert got["raw"].startswith("<156>1 2026-05-04T03:02:01.123456Z node1 keystead ")
    assert sink.stats.sent == 1 and sink.stats.dropped == 0


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_quotes_brackets_backslashes_and_newlines_survive(
    rsyslog: Rsyslog, transport: str
) -> None:
    port = rsyslog.udp_port if transport == "udp" else rsyslog.tcp_port
    nasty = 'say "hi" ] \\ [x]\nsecond line\r\nthird'
    sink = open_sink(f"syslog+{transport}://127.0.0.1:{port}")
    await closing(sink, record("odd", note=nasty, nested={"a": [1, "]"]}))

    [got] = await rsyslog.wait_for(lambda m: len(m) == 1, "the message")
    note, nested = sd_escaped(nasty), sd_escaped('{"a":[1,"]"]}')
    assert got["sd"] == f'[keystead@32473 kind="audit" note="{note}" nested="{nested}"]'
    assert got["msg"] == "odd"


async def test_a_tcp_burst_is_framed_by_octet_counting(rsyslog: Rsyslog) -> None:
    sink = open_sink(f"syslog+tcp://127.0.0.1:{rsyslog.tcp_port}")
    burst = [record(f"burst.{i}", text=f"line {i}\nwith a newline") for i in range(200)]
    await closing(sink, *burst)

    got = await rsyslog.wait_for(lambda m: len(m) >= 200, "200 messages")
    assert len(got) == 200
    assert sorted(m["msgid"] for m in got) == sorted(f"burst.{i}" for i in range(200))
    assert all("with a newline" in m["sd"] and "\n" in m["sd"] for m in got)
    assert sink.stats.sent == 200


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_cef_travels_as_the_syslog_msg(rsyslog: Rsyslog, transport: str) -> None:
    port = rsyslog.udp_port if transport == "udp" else rsyslog.tcp_port
    sink = open_sink(f"cef+{transport}://127.0.0.1:{port}")
    await closing(sink, record("key.revoked", 2, reason="a=b|c\nd", key_id="key_1"))

    [got] = await rsyslog.wait_for(lambda m: len(m) == 1, "the CEF message")
    assert got["msgid"] == "key.revoked" and got["sd"] == "-"
    *header, extension = got["msg"].split("|", 7)  # a | in the extension is not escaped
    assert header[:3] == ["CEF:0", "Keystead", "Keystead"]
    assert header[4:] == ["key.revoked", "audit key.revoked", "9"]
    assert "cat=audit" in extension
    assert "reason=a\\=b|c\\nd keyId=key_1" in extension


async def test_no_key_reaches_rsyslog(rsyslog: Rsyslog) -> None:
    key = keyformat.generate("ks")
    for url in (
        f"syslog+udp://127.0.0.1:{rsyslog.udp_port}",
        f"syslog+tcp://127.0.0.1:{rsyslog.tcp_port}",
        f"cef+tcp://127.0.0.1:{rsyslog.tcp_port}",
    ):
        sink = open_sink(url)
        fields = {"detail": f"got {key}", key: key}
        leak = ExportRecord(kind="usage", time=WHEN, severity=6, name=f"leak {key}", fields=fields)
        await closing(sink, leak)

    got = await rsyslog.wait_for(lambda m: len(m) == 3, "three messages")
    text = rsyslog.output.read_text()
    assert key not in text
    assert all(keyformat.REDACTED in m["raw"] for m in got)


async def test_tcp_reconnects_after_rsyslog_restarts(rsyslog: Rsyslog) -> None:
    sink = open_sink(f"syslog+tcp://127.0.0.1:{rsyslog.tcp_port}")
    try:
        await sink.emit([record("before")])
        await rsyslog.wait_for(lambda m: len(m) == 1, "the first message")
        await asyncio.to_thread(rsyslog.restart)  # the loop keeps running, as in life
        await sink.emit([record("after")])
        got = await rsyslog.wait_for(lambda m: any(x["msgid"] == "after" for x in m), "after")
    finally:
        await sink.close()
    assert [m["msgid"] for m in got].count("after") >= 1
    assert sink.stats.reconnects >= 1
    assert sink.stats.dropped == 0


async def test_an_alert_reaches_rsyslog_from_the_service(
    rsyslog: Rsyslog, settings: Settings, clock: ManualClock
) -> None:
    url = f"syslog+tcp://127.0.0.1:{rsyslog.tcp_port}"
    ks = await Keystead.open(
        settings=settings.model_copy(update={"export_urls": [url]}), clock=clock
    )
    try:
        admin = await ks.workspaces.local_operator()
        await ks.alerts.create_rule(admin, name="guessing", kind="brute_force", value=1)
        await ks.usage.recorder.add(failed_auth(admin.workspace_id, clock.now(), "198.51.100.7"))
        await ks.flush()
        (alert,) = await ks.alerts.evaluate(clock.now() + 1)
    finally:
        await ks.close()
    await rsyslog.wait_for(lambda m: any(x["msgid"] == "alert.opened" for x in m), "an alert")
    opened = rsyslog.messages("alert.opened")
    assert len(opened) == 1 and opened[0]["severity"] == "4"  # the rule's warning
    assert f'alert_id="{alert.id}"' in opened[0]["sd"] and 'kind="alert"' in opened[0]["sd"]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_absent_values_are_left_out_not_sent_as_null(
    rsyslog: Rsyslog, transport: str
) -> None:
    port = rsyslog.udp_port if transport == "udp" else rsyslog.tcp_port
    sink = open_sink(f"syslog+{transport}://127.0.0.1:{port}")
    await closing(sink, record("key.revoked", key_id="key_1", owner_id=None, reason=None))

    [got] = await rsyslog.wait_for(lambda m: len(m) == 1, "the message")
    assert got["sd"] == '[keystead@32473 kind="audit" key_id="key_1"]'


async def test_the_configured_sd_id_names_every_message(
    rsyslog: Rsyslog, settings: Settings
) -> None:
    """KEYSTEAD_SYSLOG_SD_ID, for audit records sent by the service and usage
    records sent by the writer process alike; a URL's own sd_id still wins."""
    own = f"syslog+tcp://127.0.0.1:{rsyslog.tcp_port}"
    update = {
        "export_urls": [own, f"{own}?sd_id=other@64500&app_name=second"],
        "syslog_sd_id": "keystead@64511",
        "usage_writer": "process",
    }
    ks = await Keystead.open(settings=settings.model_copy(update=update))
    try:
        admin = await ks.workspaces.local_operator()
        api = await ks.apis.create(admin, name="payments", prefix="acme")
        created = await ks.keys.create(admin, api_id=api.id)
        assert (await ks.verify(created.plaintext)).valid
        await ks.flush()
        got = await rsyslog.wait_for(
            lambda m: sum(x["msgid"] == "verify.valid" for x in m) == 2, "both usage records"
        )
    finally:
        await ks.close()
    assert {m["msgid"] for m in got} >= {"api.create", "key.create", "verify.valid"}
    for message in got:
        expected = "other@64500" if message["app"] == "second" else "keystead@64511"
        assert message["sd"].startswith(f"[{expected} "), message["raw"]
        assert '"null"' not in message["sd"]
