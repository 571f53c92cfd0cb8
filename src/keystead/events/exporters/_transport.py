"""Syslog transports: UDP (one datagram per message) and TCP / TLS with
RFC 6587 octet-counting framing, a bounded queue and reconnection."""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl
from collections.abc import Sequence

from keystead.events.exporters.base import SinkStats

logger = logging.getLogger(__name__)

BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 5.0
_BATCH = 256


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: UdpTransport) -> None:
        self.owner = owner

    def error_received(self, exc: Exception) -> None:
        self.owner.failed(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.lost()


class UdpTransport:
    """Best effort: a datagram the network loses is not seen; an ICMP error
    (nothing listening) counts one error and one dropped message."""

    def __init__(self, host: str, port: int, stats: SinkStats, target: str) -> None:
        self.host, self.port, self.stats, self.target = host, port, stats, target
        self._transport: asyncio.DatagramTransport | None = None
        self._failing = False

    async def send(self, messages: Sequence[bytes]) -> None:
        if self._transport is None:
            try:
                loop = asyncio.get_running_loop()
                self._transport, _ = await loop.create_datagram_endpoint(
                    lambda: _UdpProtocol(self), remote_addr=(self.host, self.port)
                )
            except OSError as exc:
                self.stats.dropped += len(messages)
                self.failed(exc, count_drop=False)
                return
        for message in messages:
            self._transport.sendto(message)
        self.stats.sent += len(messages)
        self._failing = False

    def failed(self, exc: BaseException, *, count_drop: bool = True) -> None:
        self.stats.errors += 1
        if count_drop:
            self.stats.dropped += 1
        if not self._failing:
            logger.warning("export to %s failed: %s", self.target, type(exc).__name__)
        self._failing = True

    def lost(self) -> None:
        self._transport = None

    async def close(self, timeout: float) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None


class TcpTransport:
    """Frames go into a bounded queue that one task writes; on a failure the
    task reconnects with backoff (0.1 s doubling to 5 s) and resends the batch
    it was writing (at least once). A full queue drops new frames."""

    def __init__(
        self,
        host: str,
        port: int,
        stats: SinkStats,
        target: str,
        *,
        queue_size: int = 10_000,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.stats, self.target = host, port, stats, target
        self.queue_size = queue_size
        self.ssl_context = ssl_context
        self.timeout = timeout
        self._queue: collections.deque[bytes] = collections.deque()
        self._wakeup = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._warned_full = False
        self._failing = False

    async def send(self, messages: Sequence[bytes]) -> None:
        if self._closing.is_set():
            self.stats.dropped += len(messages)
            return
        room = max(0, self.queue_size - len(self._queue))
        self._queue.extend(b"%d %s" % (len(m), m) for m in messages[:room])
        if len(messages) > room:
            self.stats.dropped += len(messages) - room
            if not self._warned_full:
                logger.warning("export to %s: queue full, dropping records", self.target)
                self._warned_full = True
        self._wakeup.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def close(self, timeout: float) -> None:
        self._closing.set()
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        self.stats.dropped += len(self._queue)
        self._queue.clear()

    @property
    def connected(self) -> bool:
        """A connection is open and the peer has not closed it."""
        return self._writer is not None and not self._watcher_done()

    def _watcher_done(self) -> bool:
        return self._watcher is None or self._watcher.done()

    async def _run(self) -> None:
        backoff, connected_before = BACKOFF_MIN_S, False
        try:
            while True:
                if self._writer is not None and (self._watcher_done() or self._writer.is_closing()):
                    await self._disconnect()  # the peer went away, maybe while idle
                if not self._queue:
                    if self._closing.is_set():
                        return
                    self._wakeup.clear()
                    await self._wakeup.wait()
                    continue
                if self._writer is None:
                    if not await self._connect():
                        if self._closing.is_set():
                            return  # close() counts what is left as dropped
                        await self._pause(backoff)
                        backoff = min(backoff * 2, BACKOFF_MAX_S)
                        continue
                    if connected_before:
                        self.stats.reconnects += 1
                    if self._failing:
                        logger.warning("export to %s: connected again", self.target)
                    connected_before, backoff, self._failing = True, BACKOFF_MIN_S, False
                await self._write_batch()
        finally:
            await self._disconnect()

    async def _write_batch(self) -> None:
        writer = self._writer
        if writer is None:
            return
        count = min(len(self._queue), _BATCH)
        try:
            writer.write(b"".join(self._queue[i] for i in range(count)))
            await asyncio.wait_for(writer.drain(), self.timeout)
        except (OSError, TimeoutError) as exc:
            self._failed(exc)  # the batch stays queued and is sent again
            await self._disconnect()
            return
        for _ in range(count):
            self._queue.popleft()
        self.stats.sent += count
        self._warned_full = False

    async def _connect(self) -> bool:
        try:
            reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=self.ssl_context, limit=4096),
                self.timeout,
            )
        except (OSError, TimeoutError) as exc:
            self._failed(exc)
            return False
        self._watcher = asyncio.get_running_loop().create_task(self._watch(reader))
        return True

    async def _watch(self, reader: asyncio.StreamReader) -> None:
        """Read (and ignore) until the peer closes, then wake the writer, so a
        receiver restarting while we are idle is noticed before the next write."""
        try:
            while await reader.read(4096):
                pass
        except OSError:
            pass
        self._wakeup.set()

    async def _disconnect(self) -> None:
        writer, watcher = self._writer, self._watcher
        self._writer = self._watcher = None
        if watcher is not None and not watcher.done():
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        await _close_writer(writer)

    def _failed(self, exc: BaseException) -> None:
        self.stats.errors += 1
        if not self._failing:
            logger.warning(
                "export to %s failed: %s; retrying with backoff", self.target, type(exc).__name__
            )
        self._failing = True

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            pass


async def _close_writer(writer: asyncio.StreamWriter | None) -> None:
    if writer is None:
        return
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    except (OSError, TimeoutError):
        pass


__all__ = ["BACKOFF_MAX_S", "BACKOFF_MIN_S", "TcpTransport", "UdpTransport"]
