"""The asynchronous client of the Keystead HTTP API, on httpx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self, Unpack

from keystead.client._api import HttpApi
from keystead.client._audit import EXPORT_PAGE, by_seq
from keystead.client._call import Call, T
from keystead.client._core import KeyFilters, key_page
from keystead.client._errors import ClientError
from keystead.client._tasks import cancel, listen, send_usage
from keystead.client._transport import AsyncTransport
from keystead.client._usage import FLUSH_AT


class AsyncClient(AsyncTransport, HttpApi):
    """The asynchronous twin of ``Client``: the same methods and arguments, each
    returning an awaitable. Use it in one event loop, as ``async with``, or
    ``await aclose()``. See docs/sdk.md.
    """

    _sender: asyncio.Task[None] | None = None
    _listener: asyncio.Task[None] | None = None

    def _started(self) -> None:
        self._closed = False
        self._wake = asyncio.Event()
        self._listening = self._verifying.invalidation is not None

    async def run(self, call: Call[T]) -> T:
        if self._listening and self._listener is None:
            self._start_listener()
        if self._sender is None and self._verifying.reports:  # queued outside the loop
            self._usage_waiting(len(self._verifying.reports))
        return await super().run(call)

    def _start_listener(self) -> None:
        invalidation = self._verifying.invalidation
        if invalidation is not None:
            coroutine = listen(self.http, invalidation, self.stream_timeout)
            self._listener = asyncio.create_task(coroutine, name="keystead-invalidation")

    async def iter_keys(self, **filters: Unpack[KeyFilters]) -> AsyncIterator[dict[str, Any]]:
        """Every matching key (``api_id``, ``owner_id``, ``state``), fetching page
        after page of ``page_size``."""
        cursor: str | None = None
        while True:
            page = await self.list_keys(**key_page(filters, cursor))
            for item in page["items"]:
                yield item
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def iter_audit(self, **filters: Any) -> AsyncIterator[dict[str, Any]]:
        """Every matching entry, newest first, following the cursor."""
        cursor = None
        while True:
            page = await self.list_audit(**filters, cursor=cursor, limit=EXPORT_PAGE)
            for item in page.get("items", []):
                yield item
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def export_audit(self) -> list[dict[str, Any]]:
        """The whole chain, oldest first (as ``keystead audit export`` writes it)."""
        return by_seq([entry async for entry in self.iter_audit()])

    async def flush_usage(self) -> None:
        """Send the queued usage reports now (what the server cannot take for
        now stays queued; what it refuses is dropped and logged)."""
        reports = self._verifying.reports
        while batch := reports.take():
            try:
                await self.record_usage(batch)
            except ClientError as error:
                reports.failed(batch, error)
                return

    def _usage_waiting(self, count: int) -> None:
        if self._sender is None and not self._closed:
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # no loop yet: sent by the first call, or aclose
                return
            coroutine = send_usage(self.flush_usage, self._wake)
            self._sender = asyncio.create_task(coroutine, name="keystead-usage")
        if count >= FLUSH_AT:
            self._wake.set()

    async def aclose(self) -> None:
        """Stop the background tasks, send the queued usage reports, close the
        connections."""
        if self._closed:
            return
        self._listening = False
        self._closed = True
        await cancel(self._listener)
        await cancel(self._sender)
        self._listener = self._sender = None
        await self.flush_usage()
        await super().aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


__all__ = ["AsyncClient"]
