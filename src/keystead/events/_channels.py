"""The two invalidation channels: PostgreSQL LISTEN/NOTIFY and Redis pub/sub.

Drivers are imported lazily; a missing one names the extra to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

from keystead.errors import ConfigurationError

PG_CHANNEL = "keystead_invalidation"
REDIS_CHANNEL = "keystead:invalidation"


class Connection(Protocol):
    """One listening session of a channel; ``listen`` returns when it drops."""

    async def listen(self, on_payload: Callable[[str], None]) -> None: ...

    async def close(self) -> None: ...


class Channel(Protocol):
    async def connect(self) -> Connection: ...

    async def publish(self, payload: str) -> None: ...

    async def close(self) -> None: ...


class PostgresChannel:
    """LISTEN/NOTIFY on the database: one listening connection, one publishing."""

    def __init__(self, url: str) -> None:
        scheme, sep, rest = url.partition("://")
        self.url = f"{scheme.partition('+')[0]}{sep}{rest}"  # drop a +psycopg driver suffix
        self._publisher: Any = None

    async def connect(self) -> Connection:
        psycopg = _import("psycopg", "postgres")
        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        try:
            await conn.execute(f"LISTEN {PG_CHANNEL}")
        except BaseException:
            await conn.close()
            raise
        return _PgListener(conn)

    async def publish(self, payload: str) -> None:
        if self._publisher is None or self._publisher.closed:
            psycopg = _import("psycopg", "postgres")
            self._publisher = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        try:
            await self._publisher.execute("SELECT pg_notify(%s, %s)", (PG_CHANNEL, payload))
        except BaseException:
            await self.close()  # a fresh connection next time
            raise

    async def close(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            await publisher.close()


class _PgListener:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.pid: int = conn.info.backend_pid

    async def listen(self, on_payload: Callable[[str], None]) -> None:
        async for notify in self.conn.notifies():
            on_payload(notify.payload)

    async def close(self) -> None:
        await self.conn.close()


class RedisChannel:
    """Redis pub/sub; a client without retries, so a drop reaches the bus (which
    reconnects and flushes) instead of a silent resubscribe."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = None

    def _new_client(self) -> Any:
        redis = _import("redis.asyncio", "redis")
        no_retry = redis.retry.Retry(_import("redis.backoff", "redis").NoBackoff(), 0)
        return redis.Redis.from_url(self.url, retry=no_retry)

    async def connect(self) -> Connection:
        client = self._new_client()
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(REDIS_CHANNEL)
        except BaseException:
            await pubsub.aclose()
            await client.aclose()
            raise
        return _RedisListener(client, pubsub)

    async def publish(self, payload: str) -> None:
        if self._client is None:
            self._client = self._new_client()
        await self._client.publish(REDIS_CHANNEL, payload)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


class _RedisListener:
    def __init__(self, client: Any, pubsub: Any) -> None:
        self.client = client
        self.pubsub = pubsub

    async def listen(self, on_payload: Callable[[str], None]) -> None:
        while True:
            message = await self.pubsub.get_message(timeout=None)
            if message is not None and message.get("type") == "message":
                data = message["data"]
                on_payload(data.decode() if isinstance(data, bytes) else str(data))

    async def close(self) -> None:
        await self.pubsub.aclose()
        await self.client.aclose()


def _import(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigurationError(
            f"the invalidation channel needs {module.partition('.')[0]}: "
            f"pip install 'keystead[{extra}]'"
        ) from None


__all__ = [
    "PG_CHANNEL",
    "REDIS_CHANNEL",
    "Channel",
    "Connection",
    "PostgresChannel",
    "RedisChannel",
]
