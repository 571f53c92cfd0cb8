"""RFC 5424 syslog messages:
``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID name="value"...] MSG``.

Structured data parameter values escape ``"``, ``\\`` and ``]`` (§6.3.3);
header fields are printable US-ASCII without spaces, cut to their maximum
lengths (§6). A message longer than ``max_bytes`` first loses structured
data parameters from the end (``truncated="true"`` is added), then the tail
of MSG, never in the middle of a UTF-8 character or an escape.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from keystead.errors import ConfigurationError
from keystead.events.exporters.base import ExportRecord, format_time, scrub

FACILITIES: dict[str, int] = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
    "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "security": 13,
    "console": 14, "solaris-cron": 15, "local0": 16, "local1": 17, "local2": 18,
    "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}  # fmt: skip
DEFAULT_SD_ID = "keystead@32473"
"""32473 is the private enterprise number RFC 5612 reserves for documentation: a
name every receiver accepts, to be replaced by the operator's own PEN
(``KEYSTEAD_SYSLOG_SD_ID``, docs/monitoring.md)."""
NIL = "-"
MIN_MESSAGE_BYTES = 480  # every receiver must accept this much (RFC 5426 §3.2)

_NOT_PRINTABLE = re.compile(r"[^\x21-\x7e]")
_NOT_SD_NAME = re.compile(r'[^\x21-\x7e]|[=\]"]')
_SD_ESCAPE = re.compile(r'(["\\\]])')


def facility_code(name: str) -> int:
    """A facility by name (``local0``) or number (``16``)."""
    value = FACILITIES.get(name.lower())
    if value is None and name.isdigit() and 0 <= int(name) <= 23:
        value = int(name)
    if value is None:
        raise ConfigurationError(f"unknown syslog facility {name!r}; use local0 ... local7 or 0-23")
    return value


def header_field(text: str, max_length: int) -> str:
    """Printable US-ASCII with no spaces, at most ``max_length``, or ``-``."""
    cleaned = _NOT_PRINTABLE.sub("_", text)[:max_length]
    return cleaned or NIL


def sd_name(text: str) -> str:
    """A valid SD-NAME / PARAM-NAME: 1-32 printable characters but ``= ] "``."""
    return _NOT_SD_NAME.sub("_", text)[:32] or "_"


def sd_escape(value: str) -> str:
    """Escape ``"``, ``\\`` and ``]`` in a PARAM-VALUE (RFC 5424 §6.3.3)."""
    return _SD_ESCAPE.sub(r"\\\1", value)


def param_text(value: Any) -> str:
    """A scrubbed field value as PARAM-VALUE text: strings as is, the rest JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def flatten(fields: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """(name, text) pairs of scrubbed ``fields``, in order; an absent value
    (``None``) is left out rather than sent as the text ``null``."""
    for name, value in scrub(dict(fields)).items():
        if value is not None:
            yield sd_name(name), param_text(value)


@dataclass(frozen=True, slots=True)
class SyslogFormat:
    """The constant parts of every message a sink sends."""

    facility: int = FACILITIES["local0"]
    hostname: str = field(default_factory=socket.gethostname)
    app_name: str = "keystead"
    procid: str = field(default_factory=lambda: str(os.getpid()))
    sd_id: str = DEFAULT_SD_ID

    def header(self, record: ExportRecord, msgid: str | None = None) -> str:
        pri = self.facility * 8 + record.severity
        return " ".join(
            (
                f"<{pri}>1",
                format_time(record.time),
                header_field(scrub(self.hostname), 255),
                header_field(self.app_name, 48),
                header_field(self.procid, 128),
                header_field(scrub(record.name if msgid is None else msgid), 32),
            )
        )

    def encode(self, record: ExportRecord, max_bytes: int | None = None) -> tuple[bytes, bool]:
        """The message for ``record`` (fields as structured data, the event
        name as MSG) and whether it had to be truncated to ``max_bytes``."""
        params = [("kind", record.kind), *flatten(record.fields)]
        return self.assemble(self.header(record), params, scrub(record.name), max_bytes)

    def assemble(
        self,
        header: str,
        params: list[tuple[str, str]] | None,
        msg: str,
        max_bytes: int | None = None,
    ) -> tuple[bytes, bool]:
        """Header + structured data (``None``: the nil ``-``) + MSG, cut to fit."""
        head = header.encode()
        body = msg.encode("utf-8", "replace")
        sd_id = sd_name(self.sd_id)
        parts = [f' {name}="{sd_escape(text)}"'.encode() for name, text in params or ()]
        sd = b"[" + sd_id.encode() + b"".join(parts) + b"]" if params is not None else b"-"
        whole = head + b" " + sd + (b" " + body if body else b"")
        if max_bytes is None or len(whole) <= max_bytes:
            return whole, False
        if params is not None:
            marker = b' truncated="true"]'
            reserve = 1 + min(len(body), 64) if body else 0  # keep some of MSG
            budget = max_bytes - len(head) - 2 - len(sd_id) - len(marker) - reserve
            kept: list[bytes] = []
            for part in parts:
                if len(part) > budget:
                    break
                kept.append(part)
                budget -= len(part)
            sd = b"[" + sd_id.encode() + b"".join(kept) + marker
        whole = head + b" " + sd + (b" " + body if body else b"")
        return _cut(whole, max_bytes), True


def _cut(data: bytes, max_bytes: int) -> bytes:
    """``data[:max_bytes]`` without a broken UTF-8 character or a dangling ``\\``."""
    text = data[:max_bytes].decode("utf-8", "ignore")
    trailing = len(text) - len(text.rstrip("\\"))
    if trailing % 2:
        text = text[:-1]
    return text.encode()


__all__ = [
    "DEFAULT_SD_ID",
    "FACILITIES",
    "MIN_MESSAGE_BYTES",
    "NIL",
    "SyslogFormat",
    "facility_code",
    "flatten",
    "header_field",
    "param_text",
    "sd_escape",
    "sd_name",
]
