"""One keep-alive HTTP/1.1 connection to an upstream: an asyncio protocol fed to
httptools' response parser (llhttp, in C), the gateway's upstream client.

A connection carries one exchange at a time (no pipelining). The caller writes the
request (``write``, ``drain``), then reads the response head (``read_head``) and
its body in chunks (``read_chunk``), each wait bounded by a timeout. The socket
stops being read while more than ``HIGH_WATER`` bytes wait for a slow client, so
a body is streamed, never held whole.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import cast

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

HIGH_WATER = 256 * 1024
"""Bytes of response body buffered before the upstream socket is paused."""

Headers = list[tuple[bytes, bytes]]


class UpstreamError(Exception):
    """The upstream could not serve the request; ``status`` is the gateway's answer."""

    status = 502


class UpstreamUnreachable(UpstreamError):
    """No connection could be made (refused, unresolvable, TLS failure)."""


class UpstreamTimeout(UpstreamError):
    """The upstream did not connect, answer or send body data in time."""

    status = 504


class UpstreamBroken(UpstreamError):
    """The upstream closed the connection early or sent something that is not HTTP."""


class Abandoned(UpstreamError):
    """The gateway gave the exchange up: the client left or sent too large a body."""


class Connection(asyncio.Protocol):
    """The protocol of one upstream socket; ``begin`` starts each exchange."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = HttpResponseParser(self)
        self._chunks: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False
        self._stale_parser = False
        self.closed = False
        self.exchanges = 0
        """Exchanges begun on this connection (more than 1: it was reused)."""
        self.idle_since = 0.0
        self.sending_body = False
        """The request body is still on its way: no answer is due yet."""
        self._reset(head_only=False)

    def _reset(self, *, head_only: bool) -> None:
        self.status = 0
        self.headers: Headers = []
        self.head_done = False
        self.complete = False
        self.keep_alive = False
        self.received = False
        """Any response byte arrived in this exchange."""
        self._head_only = head_only
        self._informational = False
        self._framed = False
        self._busy = True
        self._buffered = 0
        self._error: UpstreamError | None = None
        self._chunks.clear()

    def begin(self, *, head_only: bool = False) -> None:
        """Start an exchange; ``head_only`` for a HEAD request (no body follows)."""
        if self._stale_parser:  # after a HEAD, the parser still expects a body
            self._parser = HttpResponseParser(self)
            self._stale_parser = False
        self.exchanges += 1
        self._reset(head_only=head_only)

    # asyncio.Protocol -----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        if not self._busy:  # nothing is asked: bytes out of turn end the connection
            self.abort()
            return
        self.received = True
        try:
            self._parser.feed_data(data)
        except (HttpParserError, HttpParserUpgrade):
            self._busy = self.complete  # what follows a whole response is not our concern
            if not self.complete:
                self.abort(UpstreamBroken("the upstream sent a response that is not valid HTTP"))
            else:
                self.abort()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._busy and self.head_done and not self.complete and self._error is None:
            if not self._framed and not self._head_only:
                self.complete = True  # a body delimited by the end of the connection
            else:
                self._error = UpstreamBroken("the upstream closed the connection mid-response")
        elif self._busy and not self.head_done and self._error is None:
            self._error = UpstreamBroken("the upstream closed the connection without answering")
        self._wake()
        drain = self._drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drain = self._drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)

    # httptools callbacks -------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-length" or name == b"transfer-encoding":
            self._framed = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:  # 100 Continue, 103 Early Hints: not forwarded
            self._informational = True
            self.headers = []
            self._framed = False
            return
        self.status = status
        self.keep_alive = self._parser.should_keep_alive()
        self.head_done = True
        if self._head_only:
            self.complete = True
            self._busy = False
            self._stale_parser = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > HIGH_WATER and not self._read_paused and self._transport:
            self._read_paused = True
            self._transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self.complete = True
        self._busy = False
        self._wake()

    # the caller's side -----------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self.closed or self._transport is None:
            raise self._error or UpstreamBroken("the upstream connection is closed")
        self._transport.write(data)

    async def drain(self, timeout: float) -> None:
        """Wait until the upstream takes more request body (a no-op when it does)."""
        while self._write_paused and not self.closed:
            waiter = self._drain_waiter = self._loop.create_future()
            await self._wait(waiter, timeout, "taking the request body")
        if self.closed:
            raise self._error or UpstreamBroken("the upstream closed the connection")

    async def read_head(self, timeout: float) -> int:
        """The response status, once the head is in (headers in ``headers``)."""
        while not self.head_done:
            if self._error is not None:
                raise self._error
            if self.closed:
                raise UpstreamBroken("the upstream closed the connection without answering")
            await self._wait(self._new_waiter(), timeout, "answering", patient=True)
        return self.status

    async def read_chunk(self, timeout: float) -> bytes:
        """The next piece of the response body; ``b""`` once the body is over."""
        while True:
            chunks = self._chunks
            if chunks:
                chunk = chunks.popleft()
                self._buffered -= len(chunk)
                if self._read_paused and not chunks and self._transport is not None:
                    self._read_paused = False
                    self._transport.resume_reading()
                return chunk
            if self._error is not None:
                raise self._error
            if self.complete:
                return b""
            if self.closed:
                raise UpstreamBroken("the upstream closed the connection mid-response")
            await self._wait(self._new_waiter(), timeout, "sending the response body")

    @property
    def drained(self) -> bool:
        """The body is over and every chunk of it was read."""
        return self.complete and not self._chunks

    @property
    def reusable(self) -> bool:
        return not self.closed and self.complete and self.keep_alive and self._error is None

    def abort(self, error: UpstreamError | None = None) -> None:
        """Drop the connection now; ``error`` is what a reader still waiting gets."""
        if error is not None and self._error is None:
            self._error = error
        self.closed = True
        if self._transport is not None:
            self._transport.abort()
        self._wake()

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def _new_waiter(self) -> asyncio.Future[None]:
        waiter = self._waiter = self._loop.create_future()
        return waiter

    async def _wait(
        self, waiter: asyncio.Future[None], timeout: float, doing: str, *, patient: bool = False
    ) -> None:
        """Wait for ``waiter``; past ``timeout`` the exchange fails with 504, unless
        ``patient`` and the request body is still being sent (the clock restarts)."""
        timer: list[asyncio.TimerHandle] = []
        self._arm(timer, waiter, timeout, doing, patient)
        try:
            await waiter
        finally:
            timer[0].cancel()

    def _arm(
        self,
        timer: list[asyncio.TimerHandle],
        waiter: asyncio.Future[None],
        timeout: float,
        doing: str,
        patient: bool,
    ) -> None:
        handle = self._loop.call_later(
            timeout, self._expire, timer, waiter, timeout, doing, patient
        )
        timer[:] = [handle]

    def _expire(
        self,
        timer: list[asyncio.TimerHandle],
        waiter: asyncio.Future[None],
        timeout: float,
        doing: str,
        patient: bool,
    ) -> None:
        if waiter.done():
            return
        if patient and self.sending_body:
            self._arm(timer, waiter, timeout, doing, patient)
            return
        self.abort(UpstreamTimeout(f"the upstream took too long {doing}"))
        if not waiter.done():
            waiter.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)


__all__ = [
    "HIGH_WATER",
    "Abandoned",
    "Connection",
    "Headers",
    "UpstreamBroken",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnreachable",
]
