"""The HTTP API's access log: one line per answered request, as ``KEYSTEAD_ACCESS_LOG``
says.

* ``default``: management calls and errors. Every request but the successful
  (status < 400) answers of the hot routes (``KeysteadAPI.fast_routes``: verify, the
  token exchange, the OAuth endpoints), each of which is a usage record already, and of
  the probes (``GET /healthz``, ``GET /metrics``). Their errors are logged.
* ``all``: every request.
* ``off``: none.

Lines go to the ``keystead.access`` logger at INFO, with uvicorn's access record
arguments ``(client, method, path, http_version, status)``: uvicorn's access formatter
and :class:`keystead.logs.JsonFormatter` both render them. Nothing is done for a
request whose line the logger would drop (level above INFO, no handler configured).

A line never holds a key or a query value: the query shows parameter names only, and
the path passes through :func:`keystead.core.keyformat.redact_keys` (no regex for text
too short to hold a key). A hot route's or a probe's path is a literal of the routing
table and is written as it is.
"""

from __future__ import annotations

import logging
from typing import Literal
from urllib.parse import quote

from starlette.types import Message, Scope, Send

from keystead.core.keyformat import redact_keys

LOGGER = "keystead.access"
AccessLogMode = Literal["default", "all", "off"]
PROBES = frozenset({("GET", "/healthz"), ("GET", "/metrics")})
"""Routes whose successful answers ``default`` leaves out, beside the hot routes."""
FORMAT = '%s - "%s %s HTTP/%s" %d'
"""uvicorn's access line."""


class AccessLog:
    """Logs the status line of the requests its mode keeps (module docstring)."""

    __slots__ = ("every", "logger")

    def __init__(self, mode: AccessLogMode, logger: logging.Logger | None = None) -> None:
        if mode not in ("default", "all"):
            raise ValueError(f"an access log is 'default' or 'all', not {mode!r}")
        self.every = mode == "all"
        self.logger = logger if logger is not None else logging.getLogger(LOGGER)

    @classmethod
    def for_mode(cls, mode: AccessLogMode) -> AccessLog | None:
        """The access log of ``mode``; None for ``off``."""
        return None if mode == "off" else cls(mode)

    def watch(self, scope: Scope, send: Send, *, routine: bool) -> Send:
        """``send``, logging the answer's status when the mode keeps it.

        ``routine``: a hot route or a probe, matched on its literal path; in
        ``default`` mode only its errors are logged. ``send`` itself comes back when
        the logger would drop the line."""
        if not self.logger.isEnabledFor(logging.INFO):
            return send
        only_errors = routine and not self.every

        async def logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status: int = message["status"]
                if status >= 400 or not only_errors:
                    self.write(scope, status, literal=routine)
            await send(message)

        return logged

    def answered(self, scope: Scope, status: int) -> None:
        """What ``watch(..., routine=True)`` logs, for a hot route that reports the
        status it answers with itself (``keystead.http.fastpath``: no wrapped ``send``)."""
        if (status >= 400 or self.every) and self.logger.isEnabledFor(logging.INFO):
            self.write(scope, status, literal=True)

    def write(self, scope: Scope, status: int, *, literal: bool = False) -> None:
        """One line for ``scope`` answered with ``status``; ``literal``: the path is
        one of the routing table's, no key can be in it."""
        client = scope.get("client")
        path = scope["path"]  # decoded: a key percent-encoded in part shows whole
        if not literal:  # quoted: no control character or quote in a line
            path = redact_keys(quote(path))
        query: bytes = scope.get("query_string", b"")
        if query:
            path += "?" + query_names(query)
        args = (
            f"{client[0]}:{client[1]}" if client else "-",
            scope["method"],
            path,
            scope.get("http_version", "1.1"),
            status,
        )
        logger = self.logger  # a record made here: no walk up the stack for its caller
        logger.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0, FORMAT, args, None))


def query_names(query: bytes) -> str:
    """``a=1&b=2`` as ``a=...&b=...``: the names, never a value (a name long enough to
    hold a key is redacted too)."""
    names = "&".join(
        quote(part.partition(b"=")[0], safe="%/") + "=..." for part in query.split(b"&") if part
    )
    return redact_keys(names)


__all__ = ["FORMAT", "LOGGER", "PROBES", "AccessLog", "AccessLogMode", "query_names"]
