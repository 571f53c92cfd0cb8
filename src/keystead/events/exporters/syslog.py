"""Syslog sinks: RFC 5424 messages over UDP, TCP or TLS.

``syslog+udp://host:514``, ``syslog+tcp://host:601``, ``syslog+tls://host:6514``,
with options ``?facility=local3&app_name=keystead&hostname=web1&sd_id=keystead@32473
&max_size=2048&queue_size=10000&timeout=10&cafile=/path/ca.pem``.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence
from typing import Literal
from urllib.parse import unquote, urlsplit

from keystead.errors import ConfigurationError
from keystead.events.exporters._options import Options
from keystead.events.exporters._transport import TcpTransport, UdpTransport
from keystead.events.exporters.base import ExportRecord, SinkStats
from keystead.events.exporters.rfc5424 import (
    DEFAULT_SD_ID,
    MIN_MESSAGE_BYTES,
    SyslogFormat,
    facility_code,
)

Protocol = Literal["udp", "tcp", "tls"]
DEFAULT_PORTS: dict[str, int] = {"udp": 514, "tcp": 601, "tls": 6514}
DEFAULT_MAX_SIZE: dict[str, int] = {"udp": 2048, "tcp": 8192, "tls": 8192}
CLOSE_TIMEOUT_S = 5.0


class SyslogSink:
    """Sends each record as one RFC 5424 message: the fields as structured
    data ``[keystead@32473 kind="audit" name="value" ...]``, the event name as
    MSGID and MSG. Messages longer than ``max_size`` bytes are truncated."""

    scheme = "syslog"

    def __init__(
        self,
        protocol: Protocol,
        host: str,
        port: int | None = None,
        *,
        format: SyslogFormat | None = None,
        max_size: int | None = None,
        queue_size: int = 10_000,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.protocol = protocol
        self.host = host
        self.port = port or DEFAULT_PORTS[protocol]
        self.format = format or SyslogFormat()
        self.max_size = max(max_size or DEFAULT_MAX_SIZE[protocol], MIN_MESSAGE_BYTES)
        self.stats = SinkStats()
        self._transport: UdpTransport | TcpTransport
        if protocol == "udp":
            self._transport = UdpTransport(host, self.port, self.stats, self.target)
        else:
            if protocol == "tls" and ssl_context is None:
                ssl_context = ssl.create_default_context()
            self._transport = TcpTransport(
                host,
                self.port,
                self.stats,
                self.target,
                queue_size=queue_size,
                ssl_context=ssl_context if protocol == "tls" else None,
                timeout=timeout,
            )

    @classmethod
    def from_url(cls, url: str, *, sd_id: str = DEFAULT_SD_ID) -> SyslogSink:
        parts = urlsplit(url)
        protocol = parts.scheme.lower().partition("+")[2]
        if protocol not in DEFAULT_PORTS:
            raise ConfigurationError(f"{parts.scheme}:// is not a syslog transport")
        try:
            port = parts.port
        except ValueError:
            raise ConfigurationError(f"bad port in a {parts.scheme}:// URL") from None
        if not parts.hostname:
            raise ConfigurationError(f"a {parts.scheme}:// URL names a host: {parts.scheme}://host")
        options = Options(url, parts.query)
        fmt = SyslogFormat(
            facility=facility_code(options.text("facility", "local0")),
            sd_id=options.text("sd_id", sd_id),
            app_name=options.text("app_name", "keystead"),
            hostname=options.text("hostname", "") or socket.gethostname(),
        )
        max_size = options.integer("max_size", DEFAULT_MAX_SIZE[protocol], minimum=480)
        queue_size = options.integer("queue_size", 10_000, minimum=1)
        timeout = options.number("timeout", 10.0, minimum=0.1)
        cafile = options.text("cafile", "")
        options.finish()
        context = None
        if protocol == "tls":
            try:
                context = ssl.create_default_context(cafile=unquote(cafile) or None)
            except (OSError, ssl.SSLError):
                raise ConfigurationError(f"cannot load the CA file {cafile!r}") from None
        return cls(
            protocol,  # type: ignore[arg-type]
            parts.hostname,
            port,
            format=fmt,
            max_size=max_size,
            queue_size=queue_size,
            timeout=timeout,
            ssl_context=context,
        )

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}+{self.protocol}://{host}:{self.port}"

    @property
    def connected(self) -> bool | None:
        """TCP/TLS: a connection is open; UDP: None (there is none to have)."""
        return self._transport.connected if isinstance(self._transport, TcpTransport) else None

    def encode(self, record: ExportRecord) -> tuple[bytes, bool]:
        """One message and whether it was truncated to ``max_size``."""
        return self.format.encode(record, self.max_size)

    async def emit(self, records: Sequence[ExportRecord]) -> None:
        if not records:
            return
        messages = []
        for record in records:
            data, truncated = self.encode(record)
            self.stats.truncated += truncated
            messages.append(data)
        await self._transport.send(messages)

    async def close(self) -> None:
        await self._transport.close(CLOSE_TIMEOUT_S)


__all__ = ["DEFAULT_PORTS", "SyslogSink"]
