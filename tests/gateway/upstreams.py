"""Real upstream servers for the gateway tests: plain asyncio servers on loopback
that parse requests with httptools, record exactly what reached them, and answer
through a handler (echo, slow stream, silence, hang-up, canned bytes)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import ssl
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httptools
from cryptography import x509

from tlscert import self_signed as tls_files
from tlscert import server_context


@dataclass
class Seen:
    """One request as the upstream received it."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    chunked: bool = False
    body: bytearray = field(default_factory=bytearray)
    first_body: asyncio.Event = field(default_factory=asyncio.Event)
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    def header(self, name: str) -> str | None:
        values = [v for n, v in self.headers if n == name]
        return ", ".join(values) if values else None

    def names(self) -> set[str]:
        return {n for n, _ in self.headers}


Handler = Callable[[Seen, asyncio.StreamWriter], Coroutine[Any, Any, None]]


class _Parsing:
    """httptools callbacks: one ``Seen`` per request, handed to ``on_request``."""

    def __init__(self, on_request: Callable[[Seen], None]) -> None:
        self._on_request = on_request
        self._headers: list[tuple[str, str]] = []
        self._target = ""
        self.parser = httptools.HttpRequestParser(self)
        self.current: Seen | None = None

    def on_url(self, url: bytes) -> None:
        self._target += url.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        seen = Seen(self.parser.get_method().decode(), self._target, self._headers)
        seen.chunked = any(n == "transfer-encoding" for n, _ in self._headers)
        self._headers, self._target = [], ""
        self.current = seen
        self._on_request(seen)

    def on_body(self, body: bytes) -> None:
        assert self.current is not None
        self.current.body += body
        self.current.first_body.set()

    def on_message_complete(self) -> None:
        assert self.current is not None
        self.current.complete.set()


class Upstream:
    """A server on 127.0.0.1 that records requests (``seen``) and answers with ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[Seen] = []
        self.connections = 0
        self.closed_by_peer = asyncio.Event()
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        answering: list[asyncio.Task[None]] = []

        def on_request(seen: Seen) -> None:
            self.seen.append(seen)
            task = asyncio.get_running_loop().create_task(self.handler(seen, writer))
            answering.append(task)

        parsing = _Parsing(on_request)
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    self.closed_by_peer.set()
                    break
                parsing.parser.feed_data(data)
        except (ConnectionError, httptools.HttpParserError):
            self.closed_by_peer.set()
        finally:
            for task in answering:
                task.cancel()
            writer.close()

    def _track(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


@asynccontextmanager
async def serving(
    handler: Handler, *, tls: ssl.SSLContext | None = None
) -> AsyncIterator[Upstream]:
    upstream = Upstream(handler)
    server = await asyncio.start_server(upstream._track, "127.0.0.1", 0, ssl=tls)
    upstream.port = server.sockets[0].getsockname()[1]
    try:
        yield upstream
    finally:
        server.close()
        for task in list(upstream._tasks):
            task.cancel()
        for task in list(upstream._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await server.wait_closed()


def self_signed(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 and the certificate file that trusts it."""
    cert, key = tls_files(directory, x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    return server_context(cert, key), cert


def response(status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X\r\n", f"content-length: {len(body)}\r\n"]
    lines += [f"{n}: {v}\r\n" for n, v in headers or []]
    return "".join(lines).encode("latin-1") + b"\r\n" + body


async def echo(seen: Seen, writer: asyncio.StreamWriter) -> None:
    """Answer 200 with what arrived: method, target, headers and body (JSON)."""
    await seen.complete.wait()
    body = json.dumps(
        {
            "method": seen.method,
            "target": seen.target,
            "headers": seen.headers,
            "body": seen.body.decode("latin-1"),
        }
    ).encode()
    status = 201 if seen.method == "POST" else 200
    writer.write(response(status, body, [("content-type", "application/json")]))


def status_echo(status: int) -> Handler:
    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await seen.complete.wait()
        writer.write(response(status, b"answered"))

    return answer


def canned(raw: bytes) -> Handler:
    """Answer with exactly these bytes."""

    async def answer(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await seen.complete.wait()
        writer.write(raw)

    return answer


async def silent(seen: Seen, writer: asyncio.StreamWriter) -> None:
    """Never answer."""
    await asyncio.Event().wait()


async def hang_up(seen: Seen, writer: asyncio.StreamWriter) -> None:
    """Close the connection instead of answering."""
    writer.transport.abort()


@dataclass
class Stream:
    """A chunked answer in parts: the first part at once, the rest once ``go`` is set."""

    first: bytes
    rest: list[bytes]
    go: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, seen: Seen, writer: asyncio.StreamWriter) -> None:
        head = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
        writer.write(head + _chunk(self.first))
        await self.go.wait()
        for part in self.rest:
            writer.write(_chunk(part))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        self.finished.set()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


__all__ = [
    "Seen",
    "Stream",
    "Upstream",
    "canned",
    "echo",
    "hang_up",
    "response",
    "self_signed",
    "serving",
    "silent",
    "status_echo",
]
