"""Cross-node cache invalidation: tell the other nodes what changed, by id.

A change made on one node (key, API, plan, owner, root key) is evicted there at
once by the service; this module carries a small JSON message
``{"node", "kind", "id", "workspace_id"}`` to every other node, which evicts the
same records. The channel is PostgreSQL LISTEN/NOTIFY or Redis pub/sub. Publishing
is fire-and-forget (a queue drained by a task): it never fails or slows the change.
A listener that lost its connection reconnects with backoff and then flushes the
whole local cache, as it may have missed messages; the cache TTL stays the net.

Messages carry ids only, never key material.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

from keystead.errors import ConfigurationError
from keystead.events._channels import Channel, Connection, PostgresChannel, RedisChannel

log = logging.getLogger("keystead.invalidation")

KINDS = frozenset(
    {"key", "api", "plan", "owner", "root_key", "secret", "token", "server_secret", "all"}
)
BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 5.0
READY_TIMEOUT_S = 2.0
QUEUE_SIZE = 10_000

Apply = Callable[[str, str | None, str | None], None]
"""``apply(kind, id, workspace_id)``: evict what a remote change touched."""
Flush = Callable[[], None]
"""Drop every cached record: after a reconnect, messages may have been missed."""


def _scheme(url: str) -> str:
    return url.partition(":")[0].partition("+")[0].lower()


def resolve_url(invalidation_url: str, database_url: str, limits_url: str) -> str | None:
    """The channel URL: explicit, else the PostgreSQL database, else a Redis
    limiter; ``None`` for a single node."""
    url = invalidation_url.strip()
    if url.lower() == "none":
        return None
    if not url:
        if _scheme(database_url) in ("postgresql", "postgres"):
            return database_url
        if _scheme(limits_url) in ("redis", "rediss") and "+" not in limits_url.partition(":")[0]:
            return limits_url
        return None
    if _scheme(url) in ("postgresql", "postgres", "redis", "rediss"):
        return url
    raise ConfigurationError(
        f"unknown KEYSTEAD_INVALIDATION_URL scheme '{_scheme(url)}'; "
        "use postgresql://, redis://, rediss:// or none"
    )


def open_channel(url: str) -> Channel:
    if _scheme(url) in ("postgresql", "postgres"):
        return PostgresChannel(url)
    return RedisChannel(url)


class InvalidationBus:
    """Publishes this node's changes and applies the other nodes' changes."""

    def __init__(self, channel: Channel, apply: Apply, flush: Flush) -> None:
        self.node = secrets.token_hex(8)
        self._channel = channel
        self._apply = apply
        self._flush = flush
        self._queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._connection: Connection | None = None
        self.reconnects = 0
        self.received = 0

    def listener_pid(self) -> int | None:
        """The PostgreSQL backend of the listening connection (for operators and tests)."""
        pid = getattr(self._connection, "pid", None)
        return pid if isinstance(pid, int) else None

    async def start(self) -> None:
        """Start listening and publishing; wait (briefly) for the first LISTEN."""
        self._tasks = [
            asyncio.create_task(self._listen(), name="keystead-invalidation-listen"),
            asyncio.create_task(self._drain(), name="keystead-invalidation-publish"),
        ]
        try:
            await asyncio.wait_for(self._ready.wait(), READY_TIMEOUT_S)
        except TimeoutError:
            log.warning("invalidation channel not ready yet; retrying in the background")

    def publish(self, kind: str, ident: str | None, workspace_id: str | None = None) -> None:
        """Queue a message; never raises, never waits."""
        message = {"node": self.node, "kind": kind, "id": ident, "workspace_id": workspace_id}
        try:
            self._queue.put_nowait(json.dumps(message, separators=(",", ":")))
        except asyncio.QueueFull:
            log.warning("invalidation queue full: a %s change is left to the cache TTL", kind)

    async def close(self) -> None:
        listen, drain = self._tasks or (None, None)
        if listen is not None:
            listen.cancel()
        if drain is not None:  # let queued messages go out, briefly
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), 1.0)
            drain.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._channel.close()

    def _receive(self, payload: str) -> None:
        try:
            message: Any = json.loads(payload)
            node, kind = message["node"], message["kind"]
            ident, workspace_id = message.get("id"), message.get("workspace_id")
        except (ValueError, TypeError, KeyError):
            log.warning("ignored a malformed invalidation message")
            return
        if node == self.node or kind not in KINDS:
            return
        if not all(v is None or isinstance(v, str) for v in (ident, workspace_id)):
            log.warning("ignored a malformed invalidation message")
            return
        self.received += 1
        try:
            self._apply(kind, ident, workspace_id)
        except Exception:
            log.exception("could not apply an invalidation message (%s %s)", kind, ident)

    async def _listen(self) -> None:
        delay = BACKOFF_MIN_S
        attempts = 0
        while True:
            attempts += 1
            try:
                connection = await self._channel.connect()
            except Exception as exc:
                log.warning("invalidation channel unavailable (%s); retry in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
                continue
            self._connection = connection
            try:
                if attempts > 1:  # messages may have been missed meanwhile
                    self.reconnects += 1
                    log.warning("invalidation channel reconnected; flushing the local caches")
                    self._flush()
                attempts, delay = 1, BACKOFF_MIN_S
                self._ready.set()
                await connection.listen(self._receive)
                log.warning("invalidation channel closed; reconnecting")
            except Exception as exc:
                log.warning("invalidation channel lost (%s); reconnecting", exc)
            finally:
                self._connection = None
                with contextlib.suppress(Exception):
                    await connection.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_S)

    async def _drain(self) -> None:
        while True:
            payload = await self._queue.get()
            try:
                await self._channel.publish(payload)
            except Exception as exc:
                log.warning("could not publish an invalidation message: %s", exc)
            finally:
                self._queue.task_done()


__all__ = ["KINDS", "Channel", "InvalidationBus", "open_channel", "resolve_url"]
