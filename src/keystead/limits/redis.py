"""``redis://``, ``rediss://``, ``redis+cluster://``: counters in Redis.

A decision is one EVALSHA of ``lua/decide.lua`` (one round trip, atomic on
the server, so any number of processes share exact counters).

One server (``redis://``, ``rediss://``): our own pipelined RESP connection
(``_aresp.py``): concurrent decisions share one socket, no pool, no driver
work per call. ``?client=redis-py`` uses the redis-py driver instead. The
connection belongs to the event loop that opened it (a new loop reconnects);
``close()`` the limiter in that loop.
Redis Cluster: redis-py's ``RedisCluster``; all keys of a decision must
hash to one slot, so give them one hash tag (``{owner}``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from keystead.errors import LimiterUnavailable, ValidationError
from keystead.limits import _redis_codec as codec
from keystead.limits._aresp import AsyncRespConnection
from keystead.limits._calendar import period_bounds
from keystead.limits._resp import ReplyError
from keystead.limits.decision import ALLOWED_EMPTY, Check, Decision, Lease, QuotaUsage
from keystead.limits.engine import quota_used, refill
from keystead.limits.specs import Credits, Quota

POOL_SIZE = 64
"""Driver connections per limiter (``?max_connections=``); more concurrent
decisions wait for one, up to ``POOL_WAIT_S``."""
POOL_WAIT_S = 2.0


class RedisLimiter:
    """Counters in one Redis server or one Redis Cluster."""

    def __init__(self, url: str, **options: Any) -> None:
        """Connect lazily to ``url``; ``options`` (and the URL's query) go to
        the redis-py driver when it is used (cluster, ``?client=redis-py``)."""
        self._encoder = codec.Encoder()
        self._conn: AsyncRespConnection | None = None
        self._client: Any = None
        self._cluster = False
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        if parts.scheme.lower().endswith("+cluster") or query.pop("client", "") == "redis-py":
            self._open_driver(urlunsplit(parts._replace(query=urlencode(query))), options)
        else:
            self._conn = AsyncRespConnection(url, codec.SOCKET_TIMEOUT_S)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisLimiter:
        return cls(url, **options)

    def _open_driver(self, url: str, options: dict[str, Any]) -> None:
        plain, self._cluster, kwargs = codec.split_url(url, options)
        exceptions = codec.driver("redis.exceptions")
        self._errors: tuple[type[BaseException], ...] = (exceptions.RedisError, OSError)
        self._noscript: type[BaseException] = exceptions.NoScriptError
        self._key_slot = codec.driver("redis.crc").key_slot
        if self._cluster:
            self._client = codec.driver("redis.asyncio.cluster").RedisCluster.from_url(
                plain, **kwargs
            )
            self._slots = asyncio.Semaphore(POOL_SIZE)
            return
        retry = codec.driver("redis.asyncio.retry").Retry
        kwargs.setdefault("retry", retry(codec.driver("redis.backoff").NoBackoff(), 1))
        kwargs.setdefault("max_connections", POOL_SIZE)
        self._client = codec.driver("redis.asyncio").Redis.from_url(plain, **kwargs)
        # callers beyond the pool size wait here (bounded) instead of failing
        self._slots = asyncio.Semaphore(self._client.connection_pool.max_connections)

    # -- transport ------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _driver_slot(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(POOL_WAIT_S):
                await self._slots.acquire()
        except TimeoutError:
            raise LimiterUnavailable("rate-limit backend busy: no free connection") from None
        try:
            yield
        except self._errors as error:
            raise codec.unavailable(error) from error
        finally:
            self._slots.release()

    async def _command(self, *args: str) -> Any:
        if self._conn is not None:
            try:
                return await self._conn.call(*args)
            except (OSError, ReplyError) as error:
                raise codec.unavailable(error) from error
        async with self._driver_slot():
            return await self._client.execute_command(*args)

    async def _script(
        self, script: codec.Script, keys: Sequence[str], args: Sequence[str], packed: bytes = b""
    ) -> Any:
        if self._conn is not None:
            packed = packed or codec.pack_evalsha(script, keys, args)
            try:
                try:
                    return await self._conn.call_packed(packed)
                except ReplyError as error:
                    if not str(error).startswith("NOSCRIPT"):
                        raise
                    await self._conn.call("SCRIPT", "LOAD", script.source)
                    return await self._conn.call_packed(packed)
            except (OSError, ReplyError) as error:
                raise codec.unavailable(error) from error
        client = self._client
        async with self._driver_slot():
            try:
                return await client.evalsha(script.sha, len(keys), *keys, *args)
            except self._noscript:
                await client.script_load(script.source)
                return await client.evalsha(script.sha, len(keys), *keys, *args)

    # -- the Limiter protocol -------------------------------------------------
    async def decide(self, checks: Sequence[Check], now: float | None = None) -> Decision:
        if not checks:
            return ALLOWED_EMPTY
        if self._conn is not None:
            packed, leases = self._encoder.encode_resp(checks, now)
            reply = await self._script(codec.DECIDE, (), (), packed)
            return codec.decode(reply, checks, leases)
        keys, args, leases = self._encoder.encode(checks, now)
        if self._cluster and len({self._key_slot(k.encode()) for k in keys}) > 1:
            raise ValidationError(
                "on Redis Cluster all counter keys of a decision need one hash tag, e.g. {owner}",
                field="key",
            )
        return codec.decode(await self._script(codec.DECIDE, keys, args), checks, leases)

    async def release(self, leases: Iterable[Lease]) -> None:
        by_key: dict[str, list[str]] = {}
        for key, lease_id in leases:
            by_key.setdefault(key, []).append(lease_id)
        for key, ids in by_key.items():
            await self._command("ZREM", key, *ids)

    async def get_credits(
        self, key: str, spec: Credits | None = None, now: float | None = None
    ) -> int | None:
        state = codec.credits_state(await self._command("HMGET", key, "r", "t"))
        if state is None:
            return None
        remaining, refilled_at = state
        if spec is None:
            return remaining
        now = time.time() if now is None else now
        return refill(remaining, now if refilled_at is None else refilled_at, spec, now)[0]

    async def set_credits(self, key: str, remaining: int, now: float | None = None) -> None:
        when = "" if now is None else repr(float(now))
        await self._script(codec.SET_CREDITS, [key], [str(int(remaining)), when])

    async def adjust_credits(self, key: str, delta: int) -> int | None:
        result = await self._script(codec.ADJUST_CREDITS, [key], [str(int(delta))])
        return None if result is None else int(result)

    async def quota_usage(self, key: str, spec: Quota, now: float | None = None) -> QuotaUsage:
        now = time.time() if now is None else now
        start, end = period_bounds(spec, now)
        period, used = await self._command("HMGET", key, "p", "u")
        p, u = quota_used(None if period is None else float(period), int(float(used or 0)), start)
        return QuotaUsage(u, spec.limit, p, end)

    async def clear(self, keys: Iterable[str]) -> None:
        for key in keys:
            await self._command("DEL", key)

    async def ping(self) -> None:
        await self._command("PING")

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            return
        with contextlib.suppress(*self._errors):
            await self._client.aclose()
