"""The async client's background tasks: the usage sender and the listener of
the invalidation stream, cancelled by ``AsyncClient.aclose``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import httpx

from keystead.client._errors import problem_from
from keystead.client._invalidation import PATH, Invalidation
from keystead.client._usage import FLUSH_INTERVAL_S

log = logging.getLogger("keystead.client")


async def send_usage(flush: Callable[[], Awaitable[None]], wake: asyncio.Event) -> None:
    """Call ``flush`` every ``FLUSH_INTERVAL_S``, or at once when ``wake`` is set."""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), FLUSH_INTERVAL_S)
        wake.clear()
        try:
            await flush()
        except Exception:  # keep sending: the next batch may go through
            log.exception("could not send usage reports")


async def listen(http: httpx.AsyncClient, state: Invalidation, timeout: httpx.Timeout) -> None:
    """Keep the change stream open and apply it to the cache, until cancelled."""
    while True:
        try:
            async with http.stream(
                "GET", PATH, headers=state.headers(), timeout=timeout
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise problem_from(response)
                state.connected()
                async for line in response.aiter_lines():
                    state.line(line)
            state.ended()
        except Exception as error:
            await asyncio.sleep(state.failed(error))


async def cancel(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


__all__ = ["cancel", "listen", "send_usage"]
