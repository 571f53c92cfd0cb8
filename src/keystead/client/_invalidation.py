"""Invalidation of the verify cache by the server's change stream
(``GET /v1/events/invalidations``, Server-Sent Events), pure of any I/O: the
clients' background listeners feed it lines and ask it what to do.

A key's event evicts that key's answers; any other event (an API, plan, owner
or root key changed, or ``all``) empties the cache. The cache answers only
while the stream is up and caught up (after its ``ready`` event). When the
stream fails, the cache is emptied and the listener reconnects with backoff,
sending ``Last-Event-ID``: the server then replays what it missed, or says
``all``. A stream the server ends in good order is reopened at once.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass

from keystead.client._cache import VerifyCache

log = logging.getLogger("keystead.client")

PATH = "/v1/events/invalidations"
BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 5.0
READ_TIMEOUT_S = 40.0
"""No byte for this long (the server pings every 15 s): the stream is dead."""


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str
    data: str
    id: str | None


class SseParser:
    """Lines of a ``text/event-stream`` in, events out (comments are skipped)."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, line: str) -> SseEvent | None:
        if not line:
            if not self._data and not self._event:
                return None
            event = SseEvent(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data, self._id = "", [], None
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\x00" not in value:
            self._id = value
        return None


class Invalidation:
    """The state of one client's change stream, applied to its cache."""

    def __init__(self, cache: VerifyCache) -> None:
        self.cache = cache
        self.ready = False
        """Connected and caught up: the cache may answer."""
        self.last_event_id: str | None = None
        self.failures = 0
        self.events = 0
        self._parser = SseParser()

    def headers(self) -> dict[str, str]:
        """Headers of the next connection: resume after the last event seen."""
        headers = {"Accept": "text/event-stream"}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        return headers

    def connected(self) -> None:
        self._parser = SseParser()

    def line(self, line: str) -> None:
        event = self._parser.feed(line)
        if event is None:
            return
        if event.id is not None:
            self.last_event_id = event.id
        if event.event == "ready":
            self.ready = True
            self.failures = 0
        elif event.event == "message":
            self.events += 1
            self._apply(event.data)

    def _apply(self, data: str) -> None:
        try:
            change = json.loads(data)
            kind, ident = change.get("kind"), change.get("id")
        except (ValueError, AttributeError):
            kind = ident = None
        if kind == "key" and isinstance(ident, str):
            self.cache.evict_key(ident)
        elif kind == "secret":
            return  # a stored secret changed: no verify answer depends on it
        else:
            self.cache.clear()

    def ended(self) -> None:
        """The server closed the stream in good order: reconnect and resume."""
        self.ready = False

    def failed(self, error: BaseException) -> float:
        """The stream broke (or never opened): empty the cache; the seconds to
        wait before the next try."""
        self.ready = False
        self.cache.clear()
        if self.failures == 0:
            log.warning("the invalidation stream failed (%s); reconnecting", type(error).__name__)
        self.failures += 1
        ceiling = min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2 ** min(self.failures, 16))
        return random.uniform(BACKOFF_MIN_S / 2, ceiling)  # noqa: S311 - jitter


__all__ = ["PATH", "READ_TIMEOUT_S", "Invalidation", "SseEvent", "SseParser"]
