"""The transports under the clients: authentication, timeouts, retries and
errors around httpx, blocking (``SyncTransport``) or async (``AsyncTransport``)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Generator
from typing import Any

import httpx

from keystead import __version__
from keystead.client._cache import VerifyCache
from keystead.client._call import AsyncRunner, Call, SyncRunner, T
from keystead.client._errors import ApiError, connection_failed, problem_from
from keystead.client._invalidation import READ_TIMEOUT_S
from keystead.client._retry import RetryPolicy
from keystead.client._usage import UsageQueue
from keystead.client._verifying import Verifying

TimeoutSpec = float | httpx.Timeout


class _RootKeyAuth(httpx.Auth):
    """Adds the root key as a bearer token; its repr never shows the key."""

    def __init__(self, root_key: str) -> None:
        self._root_key = root_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._root_key}"
        yield request

    def __repr__(self) -> str:
        return "_RootKeyAuth(<hidden>)"


class Connection:
    """What both clients share: the server, the credentials, the retry policy,
    the verify cache and the usage queue."""

    def __init__(
        self,
        base_url: str,
        root_key: str | None,
        *,
        timeout: TimeoutSpec = 10.0,
        retries: int = 2,
        verify_cache_ttl: float = 0.0,
        invalidation: bool = False,
        backoff_base_s: float = 0.1,
        backoff_cap_s: float = 2.0,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("base_url must be an http:// or https:// URL")
        if root_key is None and transport is None:
            raise ValueError("a root key is required")
        if root_key is not None and (not isinstance(root_key, str) or not root_key.strip()):
            raise ValueError("a root key is required")
        if not 0 <= verify_cache_ttl < math.inf:
            raise ValueError("verify_cache_ttl is a number of seconds (0: no cache)")
        if invalidation and not verify_cache_ttl:
            raise ValueError("invalidation serves the verify cache: set verify_cache_ttl too")
        self.base_url = str(url).rstrip("/")
        self.retry = RetryPolicy(retries=retries, base_s=backoff_base_s, cap_s=backoff_cap_s)
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._open(
            base_url=self.base_url,
            auth=None if root_key is None else _RootKeyAuth(root_key.strip()),
            timeout=self.timeout,
            headers={"User-Agent": f"keystead-python/{__version__}"},
            transport=transport,
        )
        cache = VerifyCache(verify_cache_ttl) if verify_cache_ttl else None
        self._verifying = Verifying(
            cache, UsageQueue(self._usage_waiting), invalidation=invalidation
        )
        self._started()

    def _open(self, **options: Any) -> None:
        raise NotImplementedError

    def _started(self) -> None:
        """Set up the client's background work (its listener, its sender)."""

    def _usage_waiting(self, count: int) -> None:
        """``count`` usage reports wait to be sent (start or wake the sender)."""

    @property
    def stream_timeout(self) -> httpx.Timeout:
        """The invalidation stream's timeouts: the client's, but reading waits
        for the server's pings."""
        t = self.timeout
        return httpx.Timeout(connect=t.connect, read=READ_TIMEOUT_S, write=t.write, pool=t.pool)

    def settle(
        self, call: Call[Any], attempt: int, outcome: httpx.Response | httpx.RequestError
    ) -> httpx.Response | float:
        """The answer to return, or seconds to wait before trying again; raises
        ``ConnectionFailed`` when a failed attempt is the last."""
        if isinstance(outcome, httpx.Response):
            wait = self.retry.after_response(call, attempt, outcome)
            return outcome if wait is None else wait
        wait = self.retry.after_error(call, attempt, outcome)
        if wait is None:
            raise connection_failed(self.base_url, outcome) from None
        return wait

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"


def answer(call: Call[T], response: httpx.Response) -> T:
    """The call's result from the server's final answer (or its ``ApiError``)."""
    if response.is_error:
        raise problem_from(response)
    return call.kept(call.read(response))


class SyncTransport(Connection, SyncRunner):
    """Blocking requests on an ``httpx.Client`` (safe to share between threads);
    ``transport``: an ``httpx.BaseTransport`` to use instead of the network."""

    http: httpx.Client

    def _open(self, **options: Any) -> None:
        self.http = httpx.Client(**options)

    def run(self, call: Call[T]) -> T:
        hit = call.cached()
        if hit is not None:
            return hit
        try:
            return answer(call, self.send(call))
        except ApiError as error:
            other = call.replacement(error)
            if other is None:
                raise
            return answer(other, self.send(other))

    def send(self, call: Call[Any]) -> httpx.Response:
        """The final answer to ``call``, after the retries the policy allows."""
        attempt = 0
        outcome: httpx.Response | httpx.RequestError
        while True:
            try:
                outcome = self.http.request(**call.request)
            except httpx.RequestError as error:
                outcome = error
            settled = self.settle(call, attempt, outcome)
            if isinstance(settled, httpx.Response):
                return settled
            time.sleep(settled)
            attempt += 1

    def close(self) -> None:
        self.http.close()


class AsyncTransport(Connection, AsyncRunner):
    """Requests on an ``httpx.AsyncClient``; ``transport``: an
    ``httpx.AsyncBaseTransport`` to use instead of the network."""

    http: httpx.AsyncClient

    def _open(self, **options: Any) -> None:
        self.http = httpx.AsyncClient(**options)

    async def run(self, call: Call[T]) -> T:
        hit = call.cached()
        if hit is not None:
            return hit
        try:
            return answer(call, await self.send(call))
        except ApiError as error:
            other = call.replacement(error)
            if other is None:
                raise
            return answer(other, await self.send(other))

    async def send(self, call: Call[Any]) -> httpx.Response:
        """The final answer to ``call``, after the retries the policy allows."""
        attempt = 0
        outcome: httpx.Response | httpx.RequestError
        while True:
            try:
                outcome = await self.http.request(**call.request)
            except httpx.RequestError as error:
                outcome = error
            settled = self.settle(call, attempt, outcome)
            if isinstance(settled, httpx.Response):
                return settled
            await asyncio.sleep(settled)
            attempt += 1

    async def aclose(self) -> None:
        await self.http.aclose()


__all__ = ["AsyncTransport", "Connection", "SyncTransport", "TimeoutSpec", "answer"]
