"""The synchronous client of the Keystead HTTP API, on httpx."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self, Unpack

from keystead.client._api import HttpApi
from keystead.client._audit import EXPORT_PAGE, by_seq
from keystead.client._core import KeyFilters, key_page
from keystead.client._errors import ClientError
from keystead.client._threads import InvalidationListener, UsageSender
from keystead.client._transport import SyncTransport
from keystead.client._usage import FLUSH_AT


class Client(SyncTransport, HttpApi):
    """A typed client of one Keystead server, authenticated with a root key.

    ``Client(base_url, root_key, *, timeout=10.0, retries=2, verify_cache_ttl=0.0,
    invalidation=False)``. Every method blocks and returns the decoded answer
    (plain dicts; ``verify`` a ``VerifyResult``); errors raise ``ApiError`` (the
    server said no) or ``ConnectionFailed`` (no answer; ``Timeout`` when too
    slow). Safe to share between threads. Use it as a context manager, or call
    ``close``. See docs/sdk.md.
    """

    _sender: UsageSender | None = None
    _listener: InvalidationListener | None = None

    def _started(self) -> None:
        self._start_lock = threading.Lock()
        self._closed = False
        invalidation = self._verifying.invalidation
        if invalidation is not None:
            self._listener = InvalidationListener(self.http, invalidation, self.stream_timeout)

    def iter_keys(self, **filters: Unpack[KeyFilters]) -> Iterator[dict[str, Any]]:
        """Every matching key (``api_id``, ``owner_id``, ``state``), fetching page
        after page of ``page_size``."""
        cursor: str | None = None
        while True:
            page = self.list_keys(**key_page(filters, cursor))
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def iter_audit(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every matching entry, newest first, following the cursor."""
        cursor = None
        while True:
            page = self.list_audit(**filters, cursor=cursor, limit=EXPORT_PAGE)
            yield from page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def export_audit(self) -> list[dict[str, Any]]:
        """The whole chain, oldest first (as ``keystead audit export`` writes it)."""
        return by_seq(list(self.iter_audit()))

    def flush_usage(self) -> None:
        """Send the queued usage reports now (what the server cannot take for
        now stays queued; what it refuses is dropped and logged)."""
        reports = self._verifying.reports
        while batch := reports.take():
            try:
                self.record_usage(batch)
            except ClientError as error:
                reports.failed(batch, error)
                return

    def _usage_waiting(self, count: int) -> None:
        sender = self._sender
        if sender is None:
            with self._start_lock:
                if self._closed:
                    return
                if self._sender is None:
                    self._sender = UsageSender(self.flush_usage)
                sender = self._sender
        if count >= FLUSH_AT:
            sender.wake()

    def close(self) -> None:
        """Stop the background threads, send the queued usage reports, close
        the connections."""
        with self._start_lock:
            if self._closed:
                return
            self._closed = True
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.stop()
        self.flush_usage()
        super().close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["Client"]
