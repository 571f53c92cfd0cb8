"""CEF (ArcSight Common Event Format) over syslog:
``CEF:0|Keystead|Keystead|<version>|<signature id>|<name>|<severity>|<extension>``
as the MSG of an RFC 5424 message. ``cef+udp://``, ``cef+tcp://``, ``cef+tls://``
take the syslog sinks' options.

Header fields escape ``\\`` and ``|``; extension values escape ``\\``, ``=``,
and newlines (``\\n``, ``\\r``); extension keys keep only letters and digits.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

from keystead import __version__
from keystead.events.exporters.base import ExportRecord, scrub
from keystead.events.exporters.rfc5424 import flatten
from keystead.events.exporters.syslog import SyslogSink

VENDOR = "Keystead"
PRODUCT = "Keystead"
# syslog severity 0 (emergency) .. 7 (debug) -> CEF 10 (very high) .. 0 (low)
CEF_SEVERITY = (10, 10, 9, 7, 5, 3, 1, 0)

_HEADER_ESCAPE = re.compile(r"([\\|])")
_NOT_KEY = re.compile(r"[^A-Za-z0-9]")


def escape_header(text: str) -> str:
    """A CEF header field: ``\\`` and ``|`` escaped, line breaks made spaces."""
    return _HEADER_ESCAPE.sub(r"\\\1", text).replace("\r", " ").replace("\n", " ")


def escape_value(text: str) -> str:
    """A CEF extension value: ``\\``, ``=`` escaped, line breaks as ``\\n`` / ``\\r``."""
    return (
        text.replace("\\", "\\\\")
        .replace("=", "\\=")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def extension_key(name: str) -> str:
    """An extension key: letters and digits only (``key_id`` -> ``keyId``)."""
    first, *rest = [word for word in _NOT_KEY.split(name) if word] or ["field"]
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def format_cef(record: ExportRecord, version: str = __version__) -> str:
    """The CEF line for ``record``: ``rt`` (epoch ms) and ``cat`` (the kind)
    first, then the fields; nested values are JSON."""
    moment = record.time if record.time.tzinfo else record.time.replace(tzinfo=UTC)
    extension: dict[str, Any] = {"rt": str(int(moment.timestamp() * 1000)), "cat": record.kind}
    for name, text in flatten(record.fields):
        key = base = extension_key(name)
        suffix = 1
        while key in extension:
            suffix += 1
            key = f"{base}{suffix}"
        extension[key] = text
    name = scrub(record.name)
    header = "|".join(
        escape_header(part)
        for part in ("CEF:0", VENDOR, PRODUCT, version, name, f"{record.kind} {name}")
    )
    body = " ".join(f"{key}={escape_value(value)}" for key, value in extension.items())
    return f"{header}|{CEF_SEVERITY[record.severity]}|{body}"


class CefSink(SyslogSink):
    """A syslog sink whose MSG is a CEF line (no structured data)."""

    scheme = "cef"

    def encode(self, record: ExportRecord) -> tuple[bytes, bool]:
        fmt = self.format
        return fmt.assemble(fmt.header(record), None, format_cef(record), self.max_size)


__all__ = [
    "CEF_SEVERITY",
    "CefSink",
    "escape_header",
    "escape_value",
    "extension_key",
    "format_cef",
]
