"""One request forwarded upstream and its response streamed back to the client.

Two flows run side by side. The client side (a task) streams the request body
upstream as it arrives, stops at the route's body limit, then waits for the
client to go away: a client that leaves aborts the upstream exchange. The main
flow reads the upstream's response head and streams its body to the client.
An upstream failure before the response started is a 502 or 504 problem; after,
the client's connection is closed mid-body so the client cannot mistake a cut
response for a whole one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from starlette.types import Message, Receive, Send

from keystead.gateway.headers import response_headers
from keystead.gateway.pool import UpstreamPool
from keystead.gateway.problems import SLOW_BODY, problem, respond, too_large
from keystead.gateway.upstream import Abandoned, Connection, UpstreamBroken, UpstreamError
from keystead.integrations.refusal import Answer

logger = logging.getLogger("keystead.gateway")

CLIENT_CLOSED = 499
"""Usage status of a request whose client left before the response started."""
_LAST_CHUNK = b"0\r\n\r\n"
WATCH_AFTER_S = 0.05
"""How long an exchange runs before the gateway watches for the client leaving."""


class Exchange:
    """Forward one request; afterwards ``status``, ``bytes_in`` and ``bytes_out``
    describe what happened (for the usage record)."""

    __slots__ = (
        "_body_done",
        "_chunked",
        "_client",
        "_conn",
        "_finished",
        "_limit",
        "_refusal",
        "_started",
        "_timeout",
        "bytes_in",
        "bytes_out",
        "status",
    )

    def __init__(self, *, chunked: bool, limit: int | None, timeout: float) -> None:
        self._chunked = chunked
        self._limit = limit
        self._timeout = timeout
        self._conn: Connection | None = None
        self._client: asyncio.Task[None] | None = None
        self._body_done = False
        self._finished = False
        self._started = False
        self._refusal: Answer | None = None
        self.status = CLIENT_CLOSED
        self.bytes_in = 0
        self.bytes_out = 0

    async def run(
        self,
        pool: UpstreamPool,
        connect_timeout: float,
        head: bytes,
        *,
        has_body: bool,
        head_only: bool,
        receive: Receive,
        send: Send,
        extra_headers: Sequence[tuple[bytes, bytes]],
    ) -> None:
        try:
            conn = self._conn = await pool.acquire(connect_timeout)
        except UpstreamError as exc:
            await self._fail(send, exc)
            return
        loop = asyncio.get_running_loop()
        watch: asyncio.TimerHandle | None = None
        try:
            conn.begin(head_only=head_only)
            conn.write(head)
            conn.sending_body = has_body
            # a body that came whole with the head (the usual small one) is sent at
            # once; the rest of a longer one streams from a task of its own
            if has_body and await self._take(await self._body_part(receive)):
                self._client = loop.create_task(self._client_side(receive))
            else:
                self._body_done = True
                watch = loop.call_later(WATCH_AFTER_S, self._watch, receive)
            status = await self._read_head(pool, connect_timeout, head, has_body, head_only)
            await self._stream(send, status, extra_headers)
        except UpstreamError as exc:
            await self._fail(send, exc)
        finally:
            self._finished = True
            if watch is not None:
                watch.cancel()
            if self._client is not None and not self._client.done():
                self._client.cancel()
            conn = self._conn
            if self._body_done and conn.reusable:
                pool.release(conn)
            else:
                conn.abort()

    async def _read_head(
        self,
        pool: UpstreamPool,
        connect_timeout: float,
        head: bytes,
        has_body: bool,
        head_only: bool,
    ) -> int:
        conn = self._conn
        assert conn is not None  # noqa: S101 - set by run
        try:
            return await conn.read_head(self._timeout)
        except UpstreamBroken:
            # a kept-alive connection the upstream had just closed: once more on a new
            # one, if nothing was answered and no body has to be replayed
            if conn.exchanges < 2 or conn.received or has_body or self._conn is not conn:
                raise
        conn = self._conn = await pool.connect(connect_timeout)
        conn.begin(head_only=head_only)
        conn.write(head)
        return await conn.read_head(self._timeout)

    async def _stream(
        self, send: Send, status: int, extra_headers: Sequence[tuple[bytes, bytes]]
    ) -> None:
        conn = self._conn
        assert conn is not None  # noqa: S101 - set by run
        if status > 599:
            raise UpstreamBroken(f"the upstream answered with the invalid status {status}")
        headers = response_headers(conn.headers)
        headers.extend(extra_headers)
        self.status = status
        self._started = True
        await send({"type": "http.response.start", "status": status, "headers": headers})
        timeout = self._timeout
        while True:
            chunk = await conn.read_chunk(timeout)
            last = not chunk or conn.drained
            if last:
                self._finished = True
            self.bytes_out += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": not last})
            if last:
                return

    async def _fail(self, send: Send, exc: UpstreamError) -> None:
        if self._started:
            if not isinstance(exc, Abandoned):
                logger.warning("upstream response cut short: %s", exc)
            return  # an unfinished response: the server closes the connection
        if self._refusal is not None:
            answer = self._refusal
        elif isinstance(exc, Abandoned):
            return  # the client left; nobody to answer
        else:
            logger.warning("upstream failed: %s", exc)
            answer = problem(exc.status, str(exc))
        self.status = answer[0]
        self._finished = True
        await respond(send, answer)

    def _watch(self, receive: Receive) -> None:
        """Start watching for the client leaving (an exchange that ends sooner
        never needs to)."""
        self._client = asyncio.get_running_loop().create_task(self._client_side(receive, False))

    async def _client_side(self, receive: Receive, more: bool = True) -> None:
        """Stream the rest of the request body upstream, then wait for the client
        to leave: that aborts the exchange."""
        try:
            while more:
                more = await self._take(await self._body_part(receive))
            # nothing more to read (an empty body may still be handed over once):
            # this returns when the client leaves
            while (await receive())["type"] == "http.request":
                pass
            if not self._finished:
                self._abandon()
        except UpstreamError:
            return  # the main flow meets the same failure

    async def _body_part(self, receive: Receive) -> Message:
        """The next piece of the request body, which may not keep the exchange
        waiting longer than the route's timeout (then: 408)."""
        try:
            async with asyncio.timeout(self._timeout):
                return await receive()
        except TimeoutError:
            self._refusal = SLOW_BODY
            self._abandon()
            raise Abandoned("the request body did not arrive in time") from None

    async def _take(self, message: Message) -> bool:
        """Send one piece of the request body upstream; whether more follows."""
        if message["type"] != "http.request":
            self._abandon()
            return False
        body = message.get("body", b"")
        if body:
            self._send_body(body)
            conn = self._conn
            if conn is not None:
                await conn.drain(self._timeout)
        if message.get("more_body", False):
            return True
        if self._chunked:
            self._write(_LAST_CHUNK)
        self._body_done = True
        if self._conn is not None:
            self._conn.sending_body = False
        return False

    def _send_body(self, body: bytes) -> None:
        size = len(body)
        self.bytes_in += size
        limit = self._limit
        if limit is not None and self.bytes_in > limit:
            self._refusal = too_large(limit)
            self._abandon()
            raise Abandoned("the request body is too large")
        self._write(b"%x\r\n%b\r\n" % (size, body) if self._chunked else body)

    def _write(self, data: bytes) -> None:
        conn = self._conn
        if conn is not None:
            conn.write(data)

    def _abandon(self) -> None:
        conn = self._conn
        if conn is not None:
            conn.abort(Abandoned("the exchange was given up"))


__all__ = ["CLIENT_CLOSED", "Exchange"]
