"""Keep-alive connection pools, one per upstream origin.

An idle connection is reused newest first (the one least likely to have been
closed by the upstream's own keep-alive timeout), and dropped once it has been
idle ``keepalive_s``: keep that below the upstream's idle timeout (uvicorn: 5 s,
nginx: 75 s). A pool closed by a reload closes its idle connections at once and
the busy ones as their exchanges end.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

from keystead.gateway.upstream import Connection, UpstreamTimeout, UpstreamUnreachable


@dataclass(frozen=True, slots=True)
class Origin:
    """Where connections go, and how: what two routes must share to share a pool."""

    scheme: str
    host: str
    port: int
    keepalive_s: float = 4.0
    max_idle: int = 64
    tls_verify: bool = True
    ca_file: str | None = None

    @property
    def tls(self) -> bool:
        return self.scheme == "https"


class UpstreamPool:
    """Connections to one origin: ``acquire`` one, ``release`` it when done."""

    def __init__(self, origin: Origin) -> None:
        self.origin = origin
        self.closed = False
        self._idle: list[Connection] = []
        self._ssl = _ssl_context(origin) if origin.tls else None

    async def acquire(self, connect_timeout: float) -> Connection:
        """An idle connection, or a new one."""
        idle = self._idle
        if idle:
            loop = asyncio.get_running_loop()
            oldest = loop.time() - self.origin.keepalive_s
            while idle:
                conn = idle.pop()
                if not conn.closed and conn.idle_since >= oldest:
                    return conn
                conn.close()
        return await self.connect(connect_timeout)

    async def connect(self, timeout: float) -> Connection:
        """A new connection; ``UpstreamTimeout`` or ``UpstreamUnreachable`` if none."""
        loop = asyncio.get_running_loop()
        origin = self.origin
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop),
                    origin.host,
                    origin.port,
                    ssl=self._ssl,
                    server_hostname=origin.host if self._ssl is not None else None,
                )
        except TimeoutError:
            raise UpstreamTimeout("connecting to the upstream took too long") from None
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise UpstreamUnreachable(f"cannot connect to the upstream: {reason}") from None
        return conn

    def release(self, conn: Connection) -> None:
        """Keep ``conn`` for the next request if it can serve one, else close it."""
        if self.closed or not conn.reusable or len(self._idle) >= self.origin.max_idle:
            conn.close()
            return
        conn.idle_since = asyncio.get_running_loop().time()
        self._idle.append(conn)

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    def close(self) -> None:
        self.closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _ssl_context(origin: Origin) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=origin.ca_file)
    if not origin.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Pools:
    """The pools of the running configuration, keyed by origin. A new configuration
    keeps the pools of the origins it still uses; the others are closed."""

    def __init__(self) -> None:
        self._pools: dict[Origin, UpstreamPool] = {}

    def for_origins(self, origins: set[Origin]) -> dict[Origin, UpstreamPool]:
        """The pools for ``origins`` (kept or new); pools of other origins close."""
        current = self._pools
        kept = {origin: current.get(origin) or UpstreamPool(origin) for origin in origins}
        for origin, pool in current.items():
            if origin not in kept:
                pool.close()
        self._pools = kept
        return kept

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools = {}


__all__ = ["Origin", "Pools", "UpstreamPool"]
