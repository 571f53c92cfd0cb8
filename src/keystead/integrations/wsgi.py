"""WSGI middleware: every request is checked before the app sees it::

    app.wsgi_app = KeysteadMiddleware(app.wsgi_app, guard=SyncEmbedded())

The verified ``Identity`` is at ``environ["keystead.identity"]``. Usage is
completed when the server closes the response (after the last byte), handed to
the guard without blocking the worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from time import perf_counter
from types import TracebackType
from typing import Any, Unpack

from keystead.integrations.context import environ_context, environ_path
from keystead.integrations.credentials import Environ
from keystead.integrations.guard import Check, Served, SyncGuard
from keystead.integrations.pending import SyncPending
from keystead.integrations.refusal import Answer, missing_key
from keystead.integrations.rules import Protection, ProtectOptions

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

PENDING = "keystead.pending"
IDENTITY = "keystead.identity"


class KeysteadMiddleware(Protection):
    """Protect a WSGI app; the options are those of the ASGI middleware
    (``ProtectOptions``), with a ``SyncGuard`` (``SyncEmbedded``, ``SyncRemote``)."""

    def __init__(self, app: WSGIApp, guard: SyncGuard, **options: Unpack[ProtectOptions]) -> None:
        super().__init__(options)
        self.app = app
        self.guard = guard

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        started = perf_counter()
        rule = self.routes.match(environ.get("REQUEST_METHOD", "GET"), environ_path(environ))
        key = self.sources.find_in_environ(environ)
        inner = environ if key is None else self.sources.strip_environ(environ)
        context = None
        if key is not None:
            context = environ_context(environ, rule.permissions, proxies=self.proxies)
        if rule.public:
            pending = SyncPending(self.guard, key, context, inner, IDENTITY)
        else:
            if key is None or context is None:
                return _answer(start_response, missing_key())
            check = self.guard.check(key, context, rule.cost)
            if check.answer is not None:
                body = _answer(start_response, check.answer)
                self._finish(check, check.answer[0], started, 0, len(check.answer[2]))
                return body
            pending = SyncPending(self.guard, None, context, inner, IDENTITY, check)
        inner[PENDING] = pending
        exchange = _Exchange(self, pending, start_response, started)
        counted = _CountingInput(inner.get("wsgi.input"))
        inner["wsgi.input"] = counted
        exchange.input = counted
        try:
            result = self.app(inner, exchange.start_response)
        except Exception:
            exchange.status = exchange.status or 500
            exchange.close()
            raise
        return _Response(result, exchange)

    def _finish(
        self,
        check: Check,
        status: int | None,
        started: float,
        bytes_in: int | None,
        bytes_out: int | None,
    ) -> None:
        self.guard.finish(check, Served.since(started, status, bytes_in, bytes_out))


class _Exchange:
    __slots__ = (
        "_done",
        "_middleware",
        "_pending",
        "_start",
        "bytes_out",
        "input",
        "started",
        "status",
    )

    def __init__(
        self,
        middleware: KeysteadMiddleware,
        pending: SyncPending,
        start_response: StartResponse,
        started: float,
    ) -> None:
        self._middleware = middleware
        self._pending = pending
        self._start = start_response
        self._done = False
        self.started = started
        self.status: int | None = None
        self.bytes_out = 0
        self.input: _CountingInput | None = None

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], object]:
        self.status = _status_code(status)
        check = self._pending.check
        if check is not None and check.headers:
            headers = [*headers, *_text_headers(check.headers)]
        write = self._start(status, headers, exc_info) if exc_info else self._start(status, headers)

        def counting_write(data: bytes) -> object:
            self.bytes_out += len(data)
            return write(data)

        return counting_write

    def close(self) -> None:
        """The response is out (or failed): complete the check, once."""
        check = self._pending.check
        if self._done or check is None:
            return
        self._done = True
        bytes_in = None if self.input is None else self.input.count
        self._middleware._finish(check, self.status, self.started, bytes_in, self.bytes_out)


class _Response:
    """The app's response iterable, counting bytes; completes on ``close``."""

    __slots__ = ("_exchange", "_result")

    def __init__(self, result: Iterable[bytes], exchange: _Exchange) -> None:
        self._result = result
        self._exchange = exchange

    def __iter__(self) -> Iterator[bytes]:
        exchange = self._exchange
        for chunk in self._result:
            exchange.bytes_out += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            self._exchange.close()


class _CountingInput:
    """``wsgi.input`` that counts the bytes the app reads."""

    __slots__ = ("_stream", "count")

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._stream.read(size) if size != -1 else self._stream.read()
        self.count += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data: bytes = self._stream.readline(size) if size != -1 else self._stream.readline()
        self.count += len(data)
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = (
            self._stream.readlines(hint) if hint != -1 else self._stream.readlines()
        )
        self.count += sum(len(line) for line in lines)
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


def _answer(start_response: StartResponse, answer: Answer) -> list[bytes]:
    status, headers, body = answer
    start_response(_STATUS_LINES[status], _text_headers(headers))
    return [body]


def _text_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]


def _status_code(status: str) -> int | None:
    code = status[:3]
    return int(code) if code.isdigit() else None


_STATUS_LINES = {
    401: "401 Unauthorized",
    403: "403 Forbidden",
    429: "429 Too Many Requests",
    503: "503 Service Unavailable",
}


def pending_of(environ: Environ) -> SyncPending | None:
    """The ``SyncPending`` a WSGI ``KeysteadMiddleware`` left in the environ."""
    pending = environ.get(PENDING)
    return pending if isinstance(pending, SyncPending) else None


__all__ = ["IDENTITY", "PENDING", "KeysteadMiddleware", "pending_of"]
