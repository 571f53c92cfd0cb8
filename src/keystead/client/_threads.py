"""The sync client's background threads: the usage sender and the listener of
the invalidation stream. Both are daemon threads that ``Client.close`` stops."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable

import httpx

from keystead.client._errors import problem_from
from keystead.client._invalidation import PATH, Invalidation
from keystead.client._usage import FLUSH_INTERVAL_S

JOIN_TIMEOUT_S = 5.0

log = logging.getLogger("keystead.client")


def shut_down(response: httpx.Response | None) -> None:
    """Shut the socket of an open streamed response down, so that a thread blocked
    reading it returns at once."""
    stream = None if response is None else response.extensions.get("network_stream")
    sock = None if stream is None else stream.get_extra_info("socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class UsageSender:
    """Calls ``flush`` every ``FLUSH_INTERVAL_S``, or at once when woken."""

    def __init__(self, flush: Callable[[], None]) -> None:
        self._flush = flush
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="keystead-usage", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(JOIN_TIMEOUT_S)

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(FLUSH_INTERVAL_S)
            self._wake.clear()
            if not self._stopping:
                try:
                    self._flush()
                except Exception:  # keep sending: the next batch may go through
                    log.exception("could not send usage reports")


class InvalidationListener:
    """Keeps the change stream open and applies it to the cache."""

    def __init__(self, http: httpx.Client, state: Invalidation, timeout: httpx.Timeout) -> None:
        self._http = http
        self._state = state
        self._timeout = timeout
        self._stopped = threading.Event()
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, name="keystead-invalidation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop now: the socket of an open stream is shut down, so a blocking
        read returns at once."""
        self._stopped.set()
        shut_down(self._response)
        self._thread.join(JOIN_TIMEOUT_S)

    def _run(self) -> None:
        state = self._state
        while not self._stopped.is_set():
            try:
                self._listen()
                state.ended()
            except Exception as error:
                if not self._stopped.is_set():
                    self._stopped.wait(state.failed(error))

    def _listen(self) -> None:
        state = self._state
        with self._http.stream(
            "GET", PATH, headers=state.headers(), timeout=self._timeout
        ) as response:
            if response.status_code != 200:
                response.read()
                raise problem_from(response)
            self._response = response
            try:
                state.connected()
                for line in response.iter_lines():
                    state.line(line)
                    if self._stopped.is_set():
                        return
            finally:
                self._response = None


__all__ = ["InvalidationListener", "UsageSender", "shut_down"]
