"""Sinks from URIs (``KEYSTEAD_EXPORT_URLS``), and the errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from keystead.config import Settings
from keystead.errors import ConfigurationError
from keystead.events.exporters import SINKS, Sink, open_sink, open_sinks
from keystead.events.exporters.cef import CefSink
from keystead.events.exporters.jsonl import JsonLinesSink
from keystead.events.exporters.rfc5424 import FACILITIES
from keystead.events.exporters.syslog import SyslogSink


async def test_every_scheme_opens_its_sink(tmp_path: Path) -> None:
    sinks = open_sinks(
        [
            f"jsonl://{tmp_path / 'a.jsonl'}",
            "jsonl://stdout",
            "syslog+udp://127.0.0.1",
            "syslog+tcp://localhost:1601?facility=local3&app_name=ks&queue_size=5",
            "syslog+tls://logs.example.com?cafile=/etc/ssl/certs/ca-certificates.crt",
            "cef+udp://[::1]:1514?max_size=1024",
            " cef+tcp://127.0.0.1:1601 ",
            "",
        ]
    )
    assert [type(s) for s in sinks] == [JsonLinesSink] * 2 + [SyslogSink] * 3 + [CefSink] * 2
    assert all(isinstance(s, Sink) for s in sinks)
    assert [s.target for s in sinks[2:]] == [
        "syslog+udp://127.0.0.1:514",
        "syslog+tcp://localhost:1601",
        "syslog+tls://logs.example.com:6514",
        "cef+udp://[::1]:1514",
        "cef+tcp://127.0.0.1:1601",
    ]
    tcp = sinks[3]
    assert isinstance(tcp, SyslogSink)
    assert tcp.format.facility == FACILITIES["local3"] and tcp.format.app_name == "ks"
    assert tcp.max_size == 8192
    for sink in sinks:
        await sink.close()


def test_an_unknown_scheme_names_the_known_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_sink("kafka://broker:9092")
    message = str(caught.value)
    assert "'kafka'" in message
    assert all(f"{scheme}://" in message for scheme in SINKS)


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("syslog+udp://", "names a host"),
        ("syslog+tcp://host:99999", "bad port"),
        ("syslog+udp://host?facility=local9", "facility"),
        ("syslog+udp://host?max_size=12", "max_size"),
        ("syslog+udp://host?max_size=big", "integer"),
        ("cef+tcp://host?facilty=local3", "unknown cef\\+tcp:// option"),
        ("jsonl://", "jsonl:///absolute"),
        ("jsonl://somehost/file.jsonl", "jsonl:///absolute"),
        ("jsonl:///x.jsonl?backups=0", "backups"),
    ],
)
def test_bad_urls_are_configuration_errors(url: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        open_sink(url)


def test_settings_read_export_urls_as_a_list_or_comma_separated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEYSTEAD_EXPORT_URLS", "jsonl://stdout, syslog+udp://h:514?facility=local3")
    assert Settings(_env_file=None).export_urls == [
        "jsonl://stdout",
        "syslog+udp://h:514?facility=local3",
    ]
    monkeypatch.setenv("KEYSTEAD_EXPORT_URLS", '["jsonl:///a,b.jsonl", "cef+tcp://h"]')
    assert Settings(_env_file=None).export_urls == ["jsonl:///a,b.jsonl", "cef+tcp://h"]
    monkeypatch.setenv("KEYSTEAD_EXPORT_URLS", "")
    assert Settings(_env_file=None).export_urls == []
    monkeypatch.delenv("KEYSTEAD_EXPORT_URLS")
    assert Settings(_env_file=None).export_urls == []
