"""A blocking Redis limiter for code without an event loop (WSGI, CLI, bench).

Same script and semantics as :class:`keystead.limits.redis.RedisLimiter`, over
one socket speaking RESP directly (``_resp.py``: no driver machinery per
call), guarded by a lock: one decision at a time per limiter. Use one per
thread, or the async limiter, for parallel decisions. One Redis server (or
a primary behind a proxy); not Redis Cluster.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from keystead.errors import ConfigurationError, LimiterUnavailable
from keystead.limits import _redis_codec as codec
from keystead.limits._resp import ReplyError, RespConnection, pack
from keystead.limits.decision import ALLOWED_EMPTY, Check, Decision, Lease


class SyncRedisLimiter:
    """``decide_now``, ``release_now`` and ``clear_now`` over one connection."""

    def __init__(self, url: str, *, timeout: float = codec.SOCKET_TIMEOUT_S) -> None:
        if urlsplit(url).scheme.lower().endswith("+cluster"):
            raise ConfigurationError("the synchronous limiter does not speak Redis Cluster")
        self._conn = RespConnection(url, timeout)
        self._lock = threading.Lock()
        self._encoder = codec.Encoder()

    def _call(self, *args: str) -> Any:
        return self._send(pack(args))

    def _send(self, command: bytes) -> Any:
        """One command. A connection found dead (reset, closed: a restarted
        server) is retried once; a timeout is not, as the command may have run."""
        try:
            return self._conn.call_packed(command)
        except ConnectionError:
            pass
        except OSError as error:
            raise codec.unavailable(error) from error
        try:
            return self._conn.call_packed(command)
        except OSError as error:
            raise codec.unavailable(error) from error

    def _script(self, script: codec.Script, command: bytes) -> Any:
        with self._lock:
            try:
                try:
                    return self._send(command)
                except ReplyError as error:
                    if not str(error).startswith("NOSCRIPT"):
                        raise
                    self._call("SCRIPT", "LOAD", script.source)
                    return self._send(command)
            except ReplyError as error:
                raise LimiterUnavailable(f"rate-limit backend failed: {error}") from error

    def decide_now(self, checks: Sequence[Check], now: float | None = None) -> Decision:
        """Decide ``checks`` all or nothing; ``now=None`` uses Redis ``TIME``."""
        if not checks:
            return ALLOWED_EMPTY
        command, leases = self._encoder.encode_resp(checks, now)
        return codec.decode(self._script(codec.DECIDE, command), checks, leases)

    def _each(self, command: str, items: Iterable[tuple[str, ...]]) -> None:
        with self._lock:
            try:
                for item in items:
                    self._call(command, *item)
            except ReplyError as error:
                raise LimiterUnavailable(f"rate-limit backend failed: {error}") from error

    def release_now(self, leases: Iterable[Lease]) -> None:
        self._each("ZREM", (tuple(lease) for lease in leases))

    def clear_now(self, keys: Iterable[str]) -> None:
        self._each("DEL", ((key,) for key in keys))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
