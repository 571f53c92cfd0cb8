"""The HTTP/1.1 protocol ``keystead serve`` and ``keystead gateway`` run under
uvicorn: uvicorn's httptools protocol with a deadline for each request's head.

uvicorn closes a connection that stays idle after an answer (its keep-alive
timeout), but it waits forever for the request line and headers: a client that
connects and sends nothing, or half its headers, or a byte now and then, holds a
connection (and a file descriptor) for as long as it likes. Here a connection that
has not delivered a complete head within ``KEYSTEAD_HEADER_TIMEOUT_S`` of
connecting, or of the first byte of its next request, is closed. The command
puts the resolved setting in the environment, where every worker process reads it.

A request only stamps the time its head began (no timer per request: arming and
cancelling one cost about 9 µs); one sweep per process, every quarter of the
timeout (at most every second), closes the connections whose head is late.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

HEADER_TIMEOUT_ENV = "KEYSTEAD_HEADER_TIMEOUT_S"
DEFAULT_HEADER_TIMEOUT_S = 10.0
PROTOCOL = f"{__name__}:HeaderTimeoutProtocol"
"""The import string uvicorn's ``http`` option takes (workers import it anew)."""


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """Closes a connection whose request head is not complete in time."""

    _swept: ClassVar[weakref.WeakSet[ServerState]] = weakref.WeakSet()

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.head_timeout_s = float(os.environ.get(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT_S))
        self.head_began: float | None = None
        if server_state not in self._swept:
            self._swept.add(server_state)
            _Sweep(self.loop, server_state, self.head_timeout_s).schedule()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_began = self.loop.time()  # from the connection: a silent client too

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.head_began is None:  # a kept-alive connection's next request
            self.head_began = self.loop.time()

    def on_headers_complete(self) -> None:
        self.head_began = None
        super().on_headers_complete()

    def head_expired(self) -> None:
        self.head_began = None
        if not self.transport.is_closing():
            self.transport.close()


class _Sweep:
    """Every ``timeout / 4`` (at most 1 s): close the connections of one server
    whose head began ``timeout`` ago or more."""

    def __init__(self, loop: asyncio.AbstractEventLoop, state: ServerState, timeout: float):
        self.loop = loop
        self.state = weakref.ref(state)
        self.timeout = timeout
        self.interval = min(timeout / 4, 1.0)

    def schedule(self) -> None:
        self.loop.call_later(self.interval, self.run)

    def run(self) -> None:
        state = self.state()
        if state is None:
            return
        late = self.loop.time() - self.timeout
        for connection in list(state.connections):
            if isinstance(connection, HeaderTimeoutProtocol):
                began = connection.head_began
                if began is not None and began <= late:
                    connection.head_expired()
        self.schedule()


__all__ = ["DEFAULT_HEADER_TIMEOUT_S", "HEADER_TIMEOUT_ENV", "PROTOCOL", "HeaderTimeoutProtocol"]
