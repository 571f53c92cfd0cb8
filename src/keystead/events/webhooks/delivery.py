"""One delivery attempt over HTTP, and the retry schedule.

An attempt is a POST of the stored body with fresh Standard Webhooks headers.
A 2xx answer succeeds; anything else (another status, a redirect, a timeout, a
connection error) fails and is retried after an exponential backoff with full
jitter, until the attempts run out and the delivery is dead.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from keystead.config import Settings
from keystead.core.events import Event
from keystead.events.webhooks.signing import signature_header

MAX_RESPONSE_BYTES = 1024
_ERROR_CHARS = 64


@dataclass(slots=True, frozen=True)
class DeliveryPolicy:
    """How deliveries are attempted (``KEYSTEAD_WEBHOOK_*``, ``KEYSTEAD_OUTBOX_*``)."""

    timeout_s: float = 10.0
    max_attempts: int = 8
    retry_base_s: float = 5.0
    retry_max_s: float = 3600.0
    poll_interval_s: float = 1.0
    concurrency: int = 16
    lease_margin_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings, *, concurrency: int = 16) -> DeliveryPolicy:
        return cls(
            timeout_s=settings.webhook_timeout_s,
            max_attempts=settings.webhook_max_attempts,
            retry_base_s=settings.webhook_retry_base_s,
            retry_max_s=settings.webhook_retry_max_s,
            poll_interval_s=settings.outbox_poll_interval_s,
            concurrency=concurrency,
        )

    @property
    def lease_s(self) -> float:
        """How long a claimed delivery is kept from other nodes: the attempt's
        deadline plus a margin to record it."""
        return self.timeout_s + self.lease_margin_s

    def retry_delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds before the next try after failed attempt number ``attempt`` (1-based):
        full jitter over half to all of ``min(max, base * 2**(attempt-1))``."""
        ceiling = min(self.retry_max_s, self.retry_base_s * 2.0 ** min(attempt - 1, 60))
        draw: float = (rng or _RANDOM).uniform(0.5, 1.0)
        return draw * ceiling


_RANDOM = random.Random()  # noqa: S311 - jitter, not a secret


def render_body(event: Event) -> str:
    """The JSON body of every delivery of ``event``: ``{type, timestamp, data}``
    with the event id and workspace id added to ``data``."""
    payload: dict[str, Any] = event.payload()
    payload["data"] = {**payload["data"], "event_id": event.id, "workspace_id": event.workspace_id}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


@dataclass(slots=True, frozen=True)
class HttpResult:
    """What one POST gave: a status (and the start of the body), or an error class."""

    status_code: int | None
    error: str | None
    duration_ms: int
    response_body: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def delivery_headers(
    msg_id: str, timestamp: int, body: str, secrets: Sequence[str], user_agent: str
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
        "content-type": "application/json",
        "user-agent": user_agent,
    }


async def post(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], body: str, timeout_s: float
) -> HttpResult:
    """POST ``body``; read at most 1 KiB of the answer. Never raises (but for
    cancellation): a failure comes back as the class of error."""
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    text: str | None = None
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream("POST", url, content=body.encode(), headers=headers) as r:
                status = r.status_code
                text = await _head(r)
    except (TimeoutError, httpx.TimeoutException):
        error = "timeout"
    except Exception as exc:  # any failure is an attempt's outcome, not a crash
        error = type(exc).__name__[:_ERROR_CHARS]
    duration_ms = round((time.perf_counter() - started) * 1000)
    if error is not None:
        status, text = None, None
    return HttpResult(status, error, duration_ms, text)


async def _head(response: httpx.Response) -> str:
    kept = bytearray()
    async for chunk in response.aiter_bytes():
        kept += chunk
        if len(kept) >= MAX_RESPONSE_BYTES:
            break
    # NUL cannot be stored in a PostgreSQL text column
    return bytes(kept[:MAX_RESPONSE_BYTES]).decode("utf-8", "replace").replace("\x00", "\ufffd")


__all__ = [
    "MAX_RESPONSE_BYTES",
    "DeliveryPolicy",
    "HttpResult",
    "delivery_headers",
    "post",
    "render_body",
]
