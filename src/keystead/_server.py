"""The HTTP/1.1 protocol ``keystead serve`` and ``keystead gateway`` run under
uvicorn: uvicorn's httptools protocol with a deadline for each request's head.

uvicorn closes a connection that stays idle after an answer (its keep-alive
timeout), but it waits forever for the request line and headers: a client that
connects and sends nothing, or half its headers, or a byte now and then, holds a
connection (and a file descriptor) for as long as it likes. Here a connection that
has not delivered a complete head within ``KEYSTEAD_HEADER_TIMEOUT_S`` of
connecting, or of the first byte of its next request, is closed. The command
puts the resolved setting in the environment, where every worker process reads it.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

HEADER_TIMEOUT_ENV = "KEYSTEAD_HEADER_TIMEOUT_S"
DEFAULT_HEADER_TIMEOUT_S = 10.0
PROTOCOL = f"{__name__}:HeaderTimeoutProtocol"
"""The import string uvicorn's ``http`` option takes (workers import it anew)."""


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """Closes a connection whose request head is not complete in time."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_timeout_s = float(os.environ.get(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT_S))
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()  # from the connection: a silent client is dropped too

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_timer is None:  # a kept-alive connection's next request
            self._start_head_timer()

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self._head_timeout_s, self._head_expired)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


__all__ = ["DEFAULT_HEADER_TIMEOUT_S", "HEADER_TIMEOUT_ENV", "PROTOCOL", "HeaderTimeoutProtocol"]
