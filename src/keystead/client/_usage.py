"""Usage reports: requests answered by the caller (a middleware, a gateway),
sent to ``POST /v1/usage/records`` so their usage records carry the response.

``UsageQueue`` holds reports for a background sender: ``put`` never blocks and
never raises, and tells the client how many wait (it starts the sender, and
wakes it at ``FLUSH_AT``); the sender takes batches of at most ``MAX_BATCH``. A batch the
server could not take for now (no connection, 5xx) goes back to the front of
the queue; one it refused (4xx) is dropped, as sending it again cannot help.
Past ``capacity`` waiting reports, new ones are dropped and counted.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from keystead.client._errors import ApiError, ClientError
from keystead.client._verify import sendable
from keystead.core.text import problem_of

log = logging.getLogger("keystead.client")

MAX_BATCH = 1000
"""Reports in one ``POST /v1/usage/records`` (the server's limit)."""
CAPACITY = 10_000
FLUSH_AT = 500
"""Waiting reports that wake the sender before its interval is up."""
FLUSH_INTERVAL_S = 1.0
_TEXTS = ("ip", "user_agent", "method", "path")
_OPTIONAL = ("ip", "user_agent", "method", "path", "status", "response_ms", "bytes_in", "bytes_out")


@dataclass(frozen=True, slots=True)
class UsageReport:
    """One request the caller verified and answered. ``at``: when it arrived
    (epoch seconds); ``key_id`` None for an answer without a key."""

    key_id: str | None
    code: str
    at: float
    ip: str | None = None
    user_agent: str | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    response_ms: float | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # one such report would make the server refuse its whole batch
        sendable(self, _TEXTS)
        for tag in self.tags:
            if isinstance(tag, str) and problem_of(tag) is not None:
                raise ValueError(f"tags cannot be sent: one holds {problem_of(tag)}")

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key_id": self.key_id, "code": self.code, "at": self.at}
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.tags:
            out["tags"] = list(self.tags)
        return out


def batch_body(reports: Sequence[UsageReport]) -> dict[str, Any]:
    if isinstance(reports, UsageReport) or len(reports) > MAX_BATCH:
        raise ValueError(f"send a sequence of at most {MAX_BATCH} usage reports")
    return {"records": [report.json() for report in reports]}


class UsageQueue:
    """Reports waiting for the background sender; safe to share between threads."""

    def __init__(self, notify: Callable[[int], None], *, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.dropped = 0
        """Reports given up on: the queue was full, or the server refused them."""
        self._notify = notify
        self._reports: deque[UsageReport] = deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._reports)

    def put(self, report: UsageReport) -> None:
        with self._lock:
            if len(self._reports) >= self.capacity:
                self.dropped += 1
                return
            self._reports.append(report)
            waiting = len(self._reports)
        self._notify(waiting)

    def take(self) -> list[UsageReport]:
        """The next batch (empty when nothing waits)."""
        with self._lock:
            count = min(MAX_BATCH, len(self._reports))
            return [self._reports.popleft() for _ in range(count)]

    def failed(self, batch: list[UsageReport], error: ClientError) -> None:
        """Put ``batch`` back for a later try, or drop it if the server refused it."""
        if isinstance(error, ApiError) and error.status < 500 and error.status != 429:
            self.dropped += len(batch)
            log.warning("the server refused %d usage reports: %s", len(batch), error)
            return
        with self._lock:
            room = max(0, self.capacity - len(self._reports))
            self.dropped += max(0, len(batch) - room)
            self._reports.extendleft(reversed(batch[:room]))


__all__ = [
    "CAPACITY",
    "FLUSH_AT",
    "FLUSH_INTERVAL_S",
    "MAX_BATCH",
    "UsageQueue",
    "UsageReport",
    "batch_body",
]
