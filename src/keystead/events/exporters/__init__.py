"""Export sinks for usage records, alerts and audit entries.

Producers turn their records into :class:`ExportRecord` and hand batches to
the sinks :func:`open_sinks` builds from ``KEYSTEAD_EXPORT_URLS``:

- ``jsonl:///path/file.jsonl`` (``?max_bytes=&backups=``), ``jsonl://stdout``
- ``syslog+udp://host:514``, ``syslog+tcp://host:601``, ``syslog+tls://host:6514``
- ``cef+udp://``, ``cef+tcp://``, ``cef+tls://`` (CEF as the syslog MSG)

Every string leaving through a sink passes through
:func:`keystead.core.keyformat.redact_keys`; a sink never raises on a
delivery failure but counts it in ``sink.stats``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from urllib.parse import urlsplit

from keystead.errors import ConfigurationError
from keystead.events.exporters.base import ExportRecord, Severity, Sink, SinkStats
from keystead.events.exporters.rfc5424 import DEFAULT_SD_ID

SINKS: dict[str, str] = {
    "jsonl": "keystead.events.exporters.jsonl:JsonLinesSink",
    "syslog+udp": "keystead.events.exporters.syslog:SyslogSink",
    "syslog+tcp": "keystead.events.exporters.syslog:SyslogSink",
    "syslog+tls": "keystead.events.exporters.syslog:SyslogSink",
    "cef+udp": "keystead.events.exporters.cef:CefSink",
    "cef+tcp": "keystead.events.exporters.cef:CefSink",
    "cef+tls": "keystead.events.exporters.cef:CefSink",
}
"""URI scheme -> "module:class" of the sink serving it."""


def open_sink(url: str, *, sd_id: str = DEFAULT_SD_ID) -> Sink:
    """The sink named by ``url``'s scheme; see :data:`SINKS`. ``sd_id`` is the
    SD-ID of syslog sinks whose URL names none (``KEYSTEAD_SYSLOG_SD_ID``)."""
    scheme = urlsplit(url).scheme.lower()
    target = SINKS.get(scheme)
    if target is None:
        known = ", ".join(f"{name}://" for name in SINKS)
        shown = scheme or url.partition("?")[0][:40]
        raise ConfigurationError(f"unknown export sink {shown!r}; use one of {known}")
    module_name, _, class_name = target.partition(":")
    factory = getattr(importlib.import_module(module_name), class_name)
    sink: Sink = (
        factory.from_url(url, sd_id=sd_id)
        if scheme.startswith("syslog+")
        else (factory.from_url(url))
    )
    return sink


def open_sinks(urls: Iterable[str], *, sd_id: str = DEFAULT_SD_ID) -> list[Sink]:
    """One sink per non-empty URL; every URL is checked before any is returned."""
    return [open_sink(url.strip(), sd_id=sd_id) for url in urls if url.strip()]


__all__ = ["SINKS", "ExportRecord", "Severity", "Sink", "SinkStats", "open_sink", "open_sinks"]
