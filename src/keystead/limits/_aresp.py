"""A minimal asyncio RESP2 client: one connection, requests pipelined.

Any number of tasks share the connection: each request is written at once
and its reply resolved in order (Redis answers in order), so concurrent
decisions cost no pool and no per-call driver machinery. Any failure or
timeout closes the connection and fails every pending request (a late reply
can then never be matched to the wrong request); the next call reconnects.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any, cast

from keystead.limits._resp import ReplyError, pack, parse_url


class _Incomplete(Exception):
    pass


def _parse(buf: bytearray, pos: int) -> tuple[Any, int]:
    """One reply from ``buf[pos:]``: (value, next position); _Incomplete if cut."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    kind, body = buf[pos], bytes(buf[pos + 1 : end])
    pos = end + 2
    if kind == 36:  # $ bulk string
        size = int(body)
        if size < 0:
            return None, pos
        if len(buf) < pos + size + 2:
            raise _Incomplete
        return bytes(buf[pos : pos + size]), pos + size + 2
    if kind == 58:  # : integer
        return int(body), pos
    if kind == 42:  # * array
        size = int(body)
        if size < 0:
            return None, pos
        items = []
        for _ in range(size):
            item, pos = _parse(buf, pos)
            items.append(item)
        return items, pos
    if kind == 43:  # + simple string
        return body, pos
    if kind == 45:  # - error
        return ReplyError(body.decode("utf-8", "replace")), pos
    raise ConnectionError(f"unexpected reply type {chr(kind)!r}")


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.pending: deque[asyncio.Future[Any]] = deque()
        self.buf = bytearray()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        pos = 0
        try:
            while pos < len(buf):
                value, pos = _parse(buf, pos)
                future = self.pending.popleft()
                if not future.done():
                    if isinstance(value, ReplyError):
                        future.set_exception(value)
                    else:
                        future.set_result(value)
        except _Incomplete:
            pass
        except (ValueError, IndexError, ConnectionError) as error:
            self.fail(ConnectionError(f"bad reply from the server: {error}"))
            return
        del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(exc or ConnectionError("connection closed by the server"))

    def fail(self, error: BaseException) -> None:
        self.closed = True
        if self.transport is not None and not self.loop.is_closed():
            self.transport.abort()  # (a closed loop already dropped its sockets' care)
        while self.pending:
            future = self.pending.popleft()
            if not future.done():
                future.set_exception(error)


class AsyncRespConnection:
    """``await call_packed(pack(args))`` -> reply; ReplyError for error replies."""

    def __init__(self, url: str, timeout: float) -> None:
        self._target = parse_url(url, timeout)
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        if self._connecting is None or self._lock_loop is not loop:
            # a connection belongs to one event loop; a new loop gets a new one
            self._connecting, self._lock_loop = asyncio.Lock(), loop
            self.close()
        async with self._connecting:
            current = self._protocol
            if current is not None and not current.closed and current.loop is loop:
                return current
            target = self._target
            context = ssl.create_default_context() if target.tls else None
            async with asyncio.timeout(target.connect_timeout):
                _, protocol = await loop.create_connection(
                    _Protocol, target.host, target.port, ssl=context
                )
            self._protocol = protocol
            for command in target.setup:
                await self._send(protocol, pack(command))
            return protocol

    async def call_packed(self, command: bytes) -> Any:
        protocol = self._protocol
        if protocol is None or protocol.closed or protocol.loop is not asyncio.get_running_loop():
            protocol = await self._connect()
        return await self._send(protocol, command)

    async def _send(self, protocol: _Protocol, command: bytes) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if protocol.transport is None or protocol.closed:
            raise ConnectionError("connection closed")
        protocol.pending.append(future)
        protocol.transport.write(command)
        try:
            async with asyncio.timeout(self._target.timeout):
                return await future
        except TimeoutError:
            protocol.fail(TimeoutError("no reply from the server in time"))
            raise

    async def call(self, *args: str | bytes) -> Any:
        return await self.call_packed(pack(args))

    def close(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.fail(ConnectionError("connection closed"))
