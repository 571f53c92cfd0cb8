"""A minimal blocking RESP2 client: one socket, one command at a time.

Just what the synchronous limiter needs (send a command, read its reply),
with none of a general driver's per-call machinery, which is most of the
client-side cost of a one-round-trip decision. URLs: ``redis://`` and
``rediss://`` (TLS) with user, password, ``/db``, and the query options
``socket_timeout`` and ``socket_connect_timeout`` (seconds).
"""

from __future__ import annotations

import socket
import ssl
from typing import Any, BinaryIO, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from keystead.errors import ConfigurationError


class ReplyError(Exception):
    """The server answered with an error reply (``-ERR ...``, ``-NOSCRIPT ...``)."""


def pack(args: tuple[str | bytes, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class Target(NamedTuple):
    """Where and how to connect, from a ``redis://`` or ``rediss://`` URL."""

    host: str
    port: int
    tls: bool
    timeout: float
    connect_timeout: float
    setup: tuple[tuple[str, ...], ...]  # AUTH, SELECT


def parse_url(url: str, timeout: float) -> Target:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ConfigurationError(f"not a redis:// or rediss:// URL: {parts.scheme}://")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    setup: list[tuple[str, ...]] = []
    if parts.password:
        password = unquote(parts.password)
        user = unquote(parts.username) if parts.username else None
        setup.append(("AUTH", user, password) if user else ("AUTH", password))
    db = (parts.path or "/").strip("/") or query.get("db", "0")
    if db != "0":
        setup.append(("SELECT", str(int(db))))
    return Target(
        parts.hostname or "127.0.0.1",
        parts.port or 6379,
        parts.scheme == "rediss",
        float(query.get("socket_timeout", timeout)),
        float(query.get("socket_connect_timeout", timeout)),
        tuple(setup),
    )


class RespConnection:
    """Connects lazily; any socket error closes it, the next call reconnects."""

    def __init__(self, url: str, timeout: float) -> None:
        target = parse_url(url, timeout)
        self._address = (target.host, target.port)
        self._tls = target.tls
        self._timeout = target.timeout
        self._connect_timeout = target.connect_timeout
        self._setup = target.setup
        self._sock: socket.socket | None = None
        self._file: BinaryIO | None = None

    def _connect(self) -> tuple[socket.socket, BinaryIO]:
        sock = socket.create_connection(self._address, timeout=self._connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls:
                context = ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=self._address[0])
            sock.settimeout(self._timeout)
            stream = sock.makefile("rb")
            self._sock, self._file = sock, stream
            for command in self._setup:
                sock.sendall(pack(command))
                self._read(stream)
        except BaseException:
            self.close()
            sock.close()
            raise
        return sock, stream

    def call(self, *args: str | bytes) -> Any:
        """Send one command and return its reply; ReplyError for an error reply."""
        return self.call_packed(pack(args))

    def call_packed(self, command: bytes) -> Any:
        """Send one command already in RESP form and return its reply."""
        sock, stream = self._sock, self._file
        if sock is None or stream is None:
            sock, stream = self._connect()
        try:
            sock.sendall(command)
            return self._read(stream)
        except ReplyError:
            raise
        except BaseException:
            self.close()
            raise

    def _read(self, stream: BinaryIO) -> Any:
        line = stream.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed by the server")
        kind, body = line[:1], line[1:-2]
        if kind == b":":
            return int(body)
        if kind == b"$":
            size = int(body)
            return None if size < 0 else stream.read(size + 2)[:-2]
        if kind == b"*":
            size = int(body)
            return None if size < 0 else [self._read(stream) for _ in range(size)]
        if kind == b"+":
            return body
        if kind == b"-":
            raise ReplyError(body.decode("utf-8", "replace"))
        raise ConnectionError(f"unexpected reply type {kind!r}")

    def close(self) -> None:
        file, sock, self._file, self._sock = self._file, self._sock, None, None
        if file is not None:
            file.close()
        if sock is not None:
            sock.close()
