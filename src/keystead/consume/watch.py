"""Noticing that a secret ``keystead run --watch`` gave the child has changed.

- **Against a server** (``--url``): the server's change stream,
  ``GET /v1/events/invalidations`` (Server-Sent Events), the channel the SDK's
  verify cache listens to. Every secret write, patch, delete, undelete, destroy
  and metadata deletion is announced there as ``{"kind": "secret", "id":
  "mount/path"}``, within the moment of the write, to the subscribers that may
  read that path. ``StreamWatcher`` reports a change of a watched path, and an
  ``all`` (the server cannot tell what was missed: a reconnection). The stream
  needs ``keys.verify``; a credential without it (a token scoped to
  ``secrets.read`` only) is refused the stream, and the watcher then polls.
- **On the local store** (no server, so no stream): ``PollWatcher`` reads the
  metadata of each watched secret every second, in a thread of its own (metadata
  only: no value is read, so no read is audited) and reports a difference.

A report only means "look again": the caller reads the secrets and restarts the
child only when a value differs.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Collection

import httpx

from keystead.client._invalidation import PATH, READ_TIMEOUT_S, SseParser
from keystead.client._threads import shut_down

log = logging.getLogger("keystead.consume")

POLL_INTERVAL_S = 1.0
CLOSE_WAIT_S = 5.0
RECONNECT_S = (0.1, 0.5, 1.0, 2.0, 5.0)
_REFUSED = frozenset({401, 403, 404})


class PollWatcher:
    """``fingerprint()`` every ``interval_s`` in a daemon thread; a different
    answer is a change, reported once by ``changed``.

    The store is asked off the caller's thread so that a slow or stalled store
    never delays the caller's loop: ``keystead run`` forwards signals from it,
    and a poll that hangs must not keep a Ctrl-C or a SIGTERM from the child.
    """

    def __init__(
        self,
        fingerprint: Callable[[], object],
        interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self._fingerprint = fingerprint
        self._interval_s = interval_s
        self._last = fingerprint()
        self._flag = threading.Event()
        self._stopped = threading.Event()
        self.polls = 0
        """Polls answered so far (failed ones included)."""
        self._thread = threading.Thread(target=self._run, name="keystead-run-poll", daemon=True)
        self._thread.start()

    def changed(self) -> bool:
        if self._flag.is_set():
            self._flag.clear()
            return True
        return False

    def close(self, wait_s: float = CLOSE_WAIT_S) -> None:
        """Stop polling; waits at most ``wait_s`` for a poll under way."""
        self._stopped.set()
        self._thread.join(wait_s)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            try:
                current = self._fingerprint()
            except Exception as exc:  # unreachable for now: look again next time
                log.debug("could not poll the watched secrets: %s", type(exc).__name__)
                current = self._last
            self.polls += 1
            if current != self._last:
                self._last = current
                self._flag.set()


class StreamWatcher:
    """Listens to the change stream in a daemon thread; ``changed`` reports
    (once) whether a watched path changed since the last call. ``refused`` holds
    the status when the server refused the stream (the caller then polls)."""

    def __init__(
        self,
        http: httpx.Client,
        addresses: Collection[tuple[str, str]],
        on_refused: Callable[[int], None] | None = None,
    ) -> None:
        self._http = http
        self._watched = frozenset(f"{mount}/{path}" for mount, path in addresses)
        self._on_refused = on_refused
        self._flag = threading.Event()
        self._stopped = threading.Event()
        self.ready = threading.Event()
        """Set once the stream is open and caught up."""
        self.settled = threading.Event()
        """Set once the stream is caught up, or refused."""
        self.refused: int | None = None
        self._last_id: str | None = None
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, name="keystead-run-watch", daemon=True)
        self._thread.start()

    def changed(self) -> bool:
        if self._flag.is_set():
            self._flag.clear()
            return True
        return False

    def close(self) -> None:
        self._stopped.set()
        shut_down(self._response)
        self._thread.join(CLOSE_WAIT_S)

    def _run(self) -> None:
        failures = 0
        while not self._stopped.is_set():
            try:
                self._listen()
                failures = 0
            except _Refused as refused:
                self.refused = refused.status
                self.settled.set()
                if self._on_refused is not None:
                    self._on_refused(refused.status)
                return
            except Exception as exc:
                if self._stopped.is_set():
                    return
                log.debug("the change stream failed: %s", type(exc).__name__)
                self._stopped.wait(RECONNECT_S[min(failures, len(RECONNECT_S) - 1)])
                failures += 1

    def _listen(self) -> None:
        headers = {"Accept": "text/event-stream"}
        if self._last_id is not None:
            headers["Last-Event-ID"] = self._last_id
        timeout = httpx.Timeout(10.0, read=READ_TIMEOUT_S)
        with self._http.stream("GET", PATH, headers=headers, timeout=timeout) as response:
            if response.status_code in _REFUSED:
                raise _Refused(response.status_code)
            response.raise_for_status()
            self._response = response
            parser, caught_up = SseParser(), False
            resumed = self._last_id is not None
            try:
                for line in response.iter_lines():
                    if self._stopped.is_set():
                        return
                    event = parser.feed(line)
                    if event is None:
                        continue
                    if event.id is not None:
                        self._last_id = event.id
                    if event.event == "ready":
                        caught_up = True
                        self.ready.set()
                        self.settled.set()
                    elif event.event == "message" and self._concerns(
                        event.data, caught_up or resumed
                    ):
                        self._flag.set()
            finally:
                self._response = None

    def _concerns(self, data: str, may_have_missed: bool) -> bool:
        """Whether the event may touch a watched secret. ``all`` in the backlog
        of the first connection is no news (the secrets are read after the stream
        is ready); after that, or on a reconnection, it may be."""
        try:
            change = json.loads(data)
            kind, ident = change.get("kind"), change.get("id")
        except (ValueError, AttributeError):
            return may_have_missed
        if kind == "secret":
            return ident in self._watched
        return kind == "all" and may_have_missed


def refused_message(status: int | None) -> str:
    return (
        f"the server refused its change stream ({status}: it needs secrets.read or keys.verify); "
        "checking the secrets' metadata every second instead"
    )


class _Refused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class FallbackWatcher:
    """The stream while the server grants it; polling once it refuses."""

    def __init__(
        self,
        stream: Callable[[Callable[[int], None]], StreamWatcher],
        poll: Callable[[], PollWatcher],
        notify: Callable[[str], None],
    ) -> None:
        self._poll_factory = poll
        self._notify = notify
        self._poll: PollWatcher | None = None
        self._refused = threading.Event()
        self._stream = stream(lambda _status: self._refused.set())

    @property
    def stream(self) -> StreamWatcher:
        return self._stream

    def changed(self) -> bool:
        if self._refused.is_set() and self._poll is None:
            self._notify(refused_message(self._stream.refused))
            self._poll = self._poll_factory()
        if self._poll is not None:
            return self._poll.changed()
        return self._stream.changed()

    def close(self) -> None:
        self._stream.close()
        if self._poll is not None:
            self._poll.close()


__all__ = [
    "POLL_INTERVAL_S",
    "FallbackWatcher",
    "PollWatcher",
    "StreamWatcher",
    "refused_message",
]
