"""The HTTP/1.1 protocol ``keystead serve`` and ``keystead gateway`` run under
uvicorn: uvicorn's httptools protocol with a deadline for each request's head and
a bound on open connections.

uvicorn closes a connection that stays idle after an answer (its keep-alive
timeout), but it waits forever for the request line and headers: a client that
connects and sends nothing, or half its headers, or a byte now and then, holds a
connection (and a file descriptor) for as long as it likes. Here a connection that
has not delivered a complete head within ``KEYSTEAD_HEADER_TIMEOUT_S`` of
connecting, or of the first byte of its next request, is closed. Past
``KEYSTEAD_MAX_CONNECTIONS`` open connections, a request is answered 503 in
problem+json and its connection closed. The command puts the resolved settings in
the environment, where every worker process reads them.

Vault's ``LIST`` method (hvac lists secrets with it) is not a method the httptools
parser knows: a request line ``LIST <target> HTTP/1.1`` that starts a connection's
data, or the data after a complete request, is read as ``GET <target>?list=true``,
which Vault defines as the same call (the Vault face under ``/vault`` serves both).
A ``LIST`` pipelined behind another request in the same packet is not rewritten
and gets the parser's 400, as before.

A request only stamps the time its head began (no timer per request: arming and
cancelling one cost about 9 µs); one sweep per process, every quarter of the
timeout (at most every second), closes the connections whose head is late.

An answer's head and the start of its body leave in one write (``_HeadWithBody``):
uvicorn writes the head when the app sends ``http.response.start`` and the body
when it sends ``http.response.body``, a system call and a TCP segment each, where
nearly every answer sends both at once. The head waits for the body's first write
and goes with it; an app that sends the head alone (a stream whose first chunk is
not ready) has it written when the event loop next runs its callbacks.
"""

from __future__ import annotations

import asyncio
import json
import os
import weakref
from http import HTTPStatus
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

HEADER_TIMEOUT_ENV = "KEYSTEAD_HEADER_TIMEOUT_S"
MAX_CONNECTIONS_ENV = "KEYSTEAD_MAX_CONNECTIONS"
DEFAULT_HEADER_TIMEOUT_S = 10.0
_LIST = b"LIST "
_MAX_LIST_LINE = 16 * 1024
_OVERLOADED = json.dumps(
    {
        "type": "about:blank",
        "title": HTTPStatus.SERVICE_UNAVAILABLE.phrase,
        "status": 503,
        "detail": "too many open connections: retry shortly",
    },
    separators=(",", ":"),
).encode()
PROTOCOL = f"{__name__}:HeaderTimeoutProtocol"
"""The import string uvicorn's ``http`` option takes (workers import it anew)."""


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """Closes a connection whose request head is not complete in time; answers
    503 past the connection bound."""

    _sweeps: ClassVar[weakref.WeakKeyDictionary[ServerState, _Sweep]] = weakref.WeakKeyDictionary()

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.head_began: float | None = None
        self.at_boundary = True
        """No request is under way: the next byte starts a request line."""
        self.held = b""
        """The start of a ``LIST`` request line, until the whole line is here."""
        sweep = self._sweeps.get(server_state)
        if sweep is None:
            sweep = self._sweeps[server_state] = _Sweep(self.loop, server_state)
            sweep.schedule()
        self.max_connections = sweep.max_connections

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_began = self.loop.time()  # from the connection: a silent client too

    def data_received(self, data: bytes) -> None:
        if self.at_boundary and (self.held or data[:1] == b"L"):
            data = self._list_as_get(self.held + data)
            if not data:
                return
        super().data_received(data)

    def _list_as_get(self, data: bytes) -> bytes:
        """``data`` with a leading ``LIST`` request line read as ``GET ?list=true``;
        b"" while that line is incomplete (held for the next packet)."""
        self.held = b""
        if not data.startswith(_LIST[: len(data)]):
            return data
        end = data.find(b"\r\n")
        if end < 0 or len(data) < len(_LIST):
            if len(data) > _MAX_LIST_LINE:
                return data  # the parser refuses it
            self.held = data
            return b""
        if not data.startswith(_LIST):
            return data
        parts = data[:end].split(b" ")
        if len(parts) != 3:
            return data
        target = parts[1] + (b"&" if b"?" in parts[1] else b"?") + b"list=true"
        return b"GET " + target + b" " + parts[2] + data[end:]

    def on_message_complete(self) -> None:
        self.at_boundary = True
        super().on_message_complete()

    def on_message_begin(self) -> None:
        self.at_boundary = False
        super().on_message_begin()
        if self.head_began is None:  # a kept-alive connection's next request
            self.head_began = self.loop.time()

    def on_headers_complete(self) -> None:
        self.head_began = None
        if self.max_connections and len(self.connections) > self.max_connections:
            self.app = _overloaded  # this connection's requests only; it closes after
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport:  # not an upgrade
            cycle.transport = _HeadWithBody(self.transport, self.loop)  # type: ignore[assignment]

    def head_expired(self) -> None:
        self.head_began = None
        if not self.transport.is_closing():
            self.transport.close()


class _HeadWithBody:
    """The transport of one request's answer, as its ``RequestResponseCycle`` sees it:
    the first write (the head, or a ``100 Continue``) is held until the next one and
    leaves with it, or alone once the loop next runs its callbacks (a head with no
    body yet, a HEAD answer); the writes after go straight through."""

    __slots__ = ("held", "loop", "scheduled", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self.loop = loop
        self.held: bytes | None = None
        self.scheduled: asyncio.Handle | None = None

    def write(self, data: bytes) -> None:
        held = self.held
        if held is not None:  # the body after the head: one write
            self.held = None
            if self.scheduled is not None:
                self.scheduled.cancel()
            self.transport.write(held + data)
        elif self.scheduled is None:  # the first write: held
            self.held = data
            self.scheduled = self.loop.call_soon(self.flush)
        else:
            self.transport.write(data)

    def flush(self) -> None:
        """Write what is held (nothing came after it in time)."""
        held, self.held = self.held, None
        if held is not None and not self.transport.is_closing():
            self.transport.write(held)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()


async def _overloaded(scope: Any, receive: Any, send: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(_OVERLOADED)).encode()),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _OVERLOADED})


class _Sweep:
    """The settings of one server (read once), and every ``timeout / 4`` (at most
    1 s): close its connections whose head began ``timeout`` ago or more."""

    def __init__(self, loop: asyncio.AbstractEventLoop, state: ServerState):
        self.loop = loop
        self.state = weakref.ref(state)
        self.timeout = float(os.environ.get(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT_S))
        self.max_connections = int(os.environ.get(MAX_CONNECTIONS_ENV, "0"))
        self.interval = min(self.timeout / 4, 1.0)

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


__all__ = [
    "DEFAULT_HEADER_TIMEOUT_S",
    "HEADER_TIMEOUT_ENV",
    "MAX_CONNECTIONS_ENV",
    "PROTOCOL",
    "HeaderTimeoutProtocol",
]
