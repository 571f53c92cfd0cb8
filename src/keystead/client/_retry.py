"""When to try a request again, and after how long (pure: no I/O, no sleeping).

Idempotent requests (GET, HEAD, PUT, DELETE) are retried after connection
errors, timeouts and 429/502/503/504 answers. A POST is retried only when the
connection failed before the request went out (connecting, or waiting for a
pooled connection): the server never saw it. The wait is exponential backoff
with full jitter, or the server's ``Retry-After`` when it is short; a longer
``Retry-After`` is handed to the caller as the error.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from keystead.client._call import Call

RETRY_STATUSES = frozenset({429, 502, 503, 504})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_NO_ANSWER = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 2
    """Attempts after the first (0: never retry)."""
    base_s: float = 0.1
    cap_s: float = 2.0
    max_retry_after_s: float = 10.0
    """A longer ``Retry-After`` is not waited for."""

    def __post_init__(self) -> None:
        if self.retries < 0 or not self.base_s >= 0 or not self.cap_s >= 0:
            raise ValueError("retries and backoff times must not be negative")

    def backoff(self, attempt: int) -> float:
        """Full jitter: anywhere from 0 to ``base * 2**attempt``, capped."""
        ceiling = min(self.cap_s, self.base_s * 2 ** min(attempt, 32))
        return random.uniform(0.0, ceiling)  # noqa: S311 - jitter, not a secret

    def after_error(self, call: Call[Any], attempt: int, error: Exception) -> float | None:
        """Seconds to wait before trying again after ``error``; None: give up."""
        if attempt >= self.retries:
            return None
        if isinstance(error, _NOT_SENT) or (call.idempotent and isinstance(error, _NO_ANSWER)):
            return self.backoff(attempt)
        return None

    def after_response(
        self, call: Call[Any], attempt: int, response: httpx.Response
    ) -> float | None:
        """Seconds to wait before trying again after this answer; None: it stands."""
        status = response.status_code
        if status not in RETRY_STATUSES or not call.idempotent or attempt >= self.retries:
            return None
        wait = retry_after(response.headers.get("retry-after"))
        if wait is None:
            return self.backoff(attempt)
        return wait if wait <= self.max_retry_after_s else None


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    seconds = moment.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


__all__ = ["RETRY_STATUSES", "RetryPolicy", "retry_after"]
