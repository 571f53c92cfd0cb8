"""Delivery failures never reach the caller: they are counted in
``sink.stats`` and logged once, without record contents. The TCP sink
reconnects (with backoff) and resends. Receivers are plain asyncio servers."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from keystead.core import keyformat
from keystead.events.exporters import ExportRecord, SinkStats, open_sink
from keystead.events.exporters.syslog import SyslogSink
from tlscert import self_signed, server_context

DEADLINE_S = 20.0
WHEN = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)


def alert(name: str, **fields: object) -> ExportRecord:
    return ExportRecord(kind="alert", time=WHEN, severity=4, name=name, fields=fields)


def closed_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"never: {what}")
        await asyncio.sleep(0.02)


class Receiver:
    """An octet-counting syslog receiver on loopback that can go away and come back."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.messages: list[bytes] = []
        self.port = 0
        self.tls = tls
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            while True:
                length = int((await reader.readuntil(b" "))[:-1])
                self.messages.append(await reader.readexactly(length))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


async def test_tcp_with_nothing_listening_counts_and_drops_on_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = keyformat.generate("ks")
    sink = open_sink(f"syslog+tcp://127.0.0.1:{closed_port(socket.SOCK_STREAM)}")
    await sink.emit([alert("a", secret=key), alert("b")])  # returns at once, never raises
    await eventually(lambda: sink.stats.errors >= 2, "two failed connection attempts")
    await sink.close()

    assert sink.stats.sent == 0 and sink.stats.dropped == 2
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1  # once per failure streak, not per attempt
    assert "ConnectionRefusedError" in warnings[0].getMessage()
    assert key not in caplog.text


async def test_udp_with_nothing_listening_counts_errors() -> None:
    sink = open_sink(f"cef+udp://127.0.0.1:{closed_port(socket.SOCK_DGRAM)}")
    try:
        for _ in range(50):
            await sink.emit([alert("lost")])
            if sink.stats.errors:
                break
            await asyncio.sleep(0.02)
    finally:
        await sink.close()
    assert sink.stats.errors >= 1 and sink.stats.dropped >= 1


async def test_tcp_reconnects_and_resends_after_the_receiver_restarts() -> None:
    receiver = Receiver()
    await receiver.start()
    sink = open_sink(f"syslog+tcp://127.0.0.1:{receiver.port}")
    try:
        await sink.emit([alert("first")])
        await eventually(lambda: len(receiver.messages) == 1, "the first message")
        await receiver.stop()
        assert isinstance(sink, SyslogSink)
        await eventually(lambda: not sink.connected, "the sink noticing, while idle")
        await sink.emit([alert("while-down")])
        await eventually(lambda: sink.stats.errors >= 1, "a failed attempt while down")
        await receiver.start()  # same port
        await sink.emit([alert("back")])
        await eventually(
            lambda: any(b" back " in m for m in receiver.messages), "the message sent when back"
        )
    finally:
        await sink.close()
        await receiver.stop()
    names = [m.split(b" ")[5] for m in receiver.messages]
    assert names[0] == b"first" and names[-1] == b"back"
    assert b"while-down" in names  # queued, then delivered after the reconnect
    assert sink.stats.reconnects >= 1 and sink.stats.dropped == 0


async def test_a_full_queue_drops_new_records() -> None:
    sink = SyslogSink("tcp", "127.0.0.1", closed_port(socket.SOCK_STREAM), queue_size=3)
    await sink.emit([alert(str(i)) for i in range(5)])
    assert sink.stats.dropped == 2
    await sink.close()
    assert sink.stats.dropped == 5 and sink.stats.sent == 0
    await sink.emit([alert("after close")])
    assert sink.stats.dropped == 6


async def test_tls_verifies_the_receiver_and_delivers(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, x509.DNSName("localhost"))
    receiver = Receiver(tls=server_context(cert, key))
    await receiver.start()
    trusting = open_sink(f"syslog+tls://localhost:{receiver.port}?cafile={cert}")
    untrusting = open_sink(f"cef+tls://localhost:{receiver.port}")
    try:
        await trusting.emit([alert("over-tls")])
        await untrusting.emit([alert("refused")])
        await eventually(lambda: len(receiver.messages) == 1, "the TLS message")
        await eventually(lambda: untrusting.stats.errors >= 1, "a certificate failure")
    finally:
        await trusting.close()
        await untrusting.close()
        await receiver.stop()
    assert receiver.messages[0].split(b" ")[5] == b"over-tls"
    assert trusting.stats.sent == 1 and untrusting.stats.sent == 0


def test_stats_as_a_dict() -> None:
    assert SinkStats(sent=1).as_dict() == {
        "sent": 1,
        "dropped": 0,
        "errors": 0,
        "truncated": 0,
        "reconnects": 0,
    }
