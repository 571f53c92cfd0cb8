"""The webhook dispatcher: a background task per node that turns the outbox into
signed HTTP deliveries.

Each round (every ``outbox_poll_interval_s``, or at once when this node writes
events) it fans new outbox events out into deliveries, then claims due
deliveries up to its free send slots and sends them concurrently. Claims are
leases in the store, so any number of nodes can run a dispatcher: each event is
fanned out once and each attempt is made by one node. A node that dies mid-send
leaves its claims to expire and be retried elsewhere: delivery is at least once.

The loop never raises; failures are logged at WARNING with ids, never a secret
or an endpoint URL (which may carry credentials).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import UTC, datetime, timedelta

import httpx

from keystead import __version__
from keystead.core.clock import Clock
from keystead.core.ids import new_id
from keystead.errors import ConfigurationError, KeysteadError
from keystead.events.webhooks.delivery import (
    DeliveryPolicy,
    HttpResult,
    delivery_headers,
    post,
    render_body,
)
from keystead.events.webhooks.sealing import SecretBox
from keystead.store.webhooks import AttemptOutcome, ClaimedDelivery, DeliveryAttempt, WebhookStore

log = logging.getLogger("keystead.webhooks")

USER_AGENT = f"Keystead-Webhooks/{__version__}"
FAN_OUT_BATCH = 100
FAN_OUT_ROUNDS = 10  # at most this many batches per round: sending gets its turn


class WebhookDispatcher:
    """Fans the outbox out and sends deliveries; ``start()`` / ``stop()``."""

    def __init__(
        self,
        store: WebhookStore,
        box: SecretBox,
        policy: DeliveryPolicy,
        clock: Clock,
        *,
        user_agent: str = USER_AGENT,
    ) -> None:
        self._store = store
        self._box = box
        self._policy = policy
        self._clock = clock
        self._user_agent = user_agent
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._saturated = False
        self.events_fanned_out = 0
        self.attempts_made = 0

    def __repr__(self) -> str:
        return f"WebhookDispatcher(running={self.running})"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="keystead-webhooks")

    def wake(self) -> None:
        """Run a round now (events were just written on this node). Never raises."""
        self._wakeup.set()

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Stop claiming, give the sends in flight up to ``timeout_s`` to finish,
        cancel the rest (their claims expire and another round retries them)."""
        self._stopping = True
        self._wakeup.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        if self._task is not None:
            await _finish({self._task}, max(0.0, deadline - loop.time()))
            self._task = None
        if self._inflight:
            await _finish(set(self._inflight), max(0.0, deadline - loop.time()))
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def run_once(self) -> int:
        """One round, waiting for its sends: fan out, then attempt the deliveries
        due now (up to the free send slots). Returns how many attempts were made."""
        before = self.attempts_made
        await self._fan_out()
        await asyncio.gather(*await self._claim_and_spawn())
        return self.attempts_made - before

    # the loop ---------------------------------------------------------------

    async def _loop(self) -> None:
        failures = 0
        while not self._stopping:
            self._wakeup.clear()
            try:
                await self._fan_out()
                await self._claim_and_spawn()
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("webhook dispatch round failed: %s", _describe(exc))
            if self._stopping:
                break
            # a failing store is polled less and less often, up to every 30 s
            pause = min(
                self._policy.poll_interval_s * 2**failures, max(30.0, self._policy.poll_interval_s)
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), pause)

    async def _fan_out(self) -> int:
        total = 0
        for _ in range(FAN_OUT_ROUNDS):
            count = await self._store.fan_out_events(
                self._now(),
                limit=FAN_OUT_BATCH,
                render=render_body,
                new_delivery_id=lambda: new_id("dlv", self._clock.now()),
            )
            total += count
            if count < FAN_OUT_BATCH:
                break
        self.events_fanned_out += total
        return total

    async def _claim(self) -> list[ClaimedDelivery]:
        free = self._policy.concurrency - len(self._inflight)
        if free <= 0:
            self._saturated = True
            return []
        now = self._now()
        claimed = await self._store.claim_deliveries(
            now,
            lease_until=now + timedelta(seconds=self._policy.lease_s),
            limit=free,
            claim=secrets.token_hex(12),
        )
        self._saturated = len(claimed) == free
        return claimed

    async def _claim_and_spawn(self) -> list[asyncio.Task[None]]:
        return [self._spawn(item) for item in await self._claim()]

    def _spawn(self, item: ClaimedDelivery) -> asyncio.Task[None]:
        task = asyncio.create_task(self._attempt(item), name=f"keystead-webhook-{item.delivery.id}")
        self._inflight.add(task)
        task.add_done_callback(self._sent)
        return task

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if self._saturated and not self._stopping:
            self._wakeup.set()  # slots freed while more may be due

    # one attempt ------------------------------------------------------------

    async def _attempt(self, item: ClaimedDelivery) -> None:
        delivery = item.delivery
        try:
            started = self._now()
            result = await self._send(item)
            number = delivery.attempts + 1
            self.attempts_made += 1
            outcome = self._outcome(item, result, started, number)
            await self._store.record_attempt(delivery.id, item.claim, outcome, self._now())
            if not result.succeeded:
                log.warning(
                    "webhook delivery %s (%s) failed (%s): attempt %d of %d, %s",
                    delivery.id,
                    delivery.webhook_id,
                    result.error or f"HTTP {result.status_code}",
                    number,
                    self._policy.max_attempts,
                    "now dead" if outcome.status == "dead" else "retrying",
                )
        except Exception as exc:
            log.warning("webhook delivery %s not recorded: %s", delivery.id, _describe(exc))

    async def _send(self, item: ClaimedDelivery) -> HttpResult:
        delivery = item.delivery
        try:
            where = (delivery.workspace_id, delivery.webhook_id)
            keys = [self._box.open(item.sealed_secret, *where)]
            if item.sealed_old_secret is not None:
                keys.append(self._box.open(item.sealed_old_secret, *where))
        except ConfigurationError:
            return HttpResult(None, "secret_unreadable", 0, None)
        headers = delivery_headers(
            delivery.event_id, int(self._clock.now()), delivery.body, keys, self._user_agent
        )
        return await post(self._http(), item.url, headers, delivery.body, self._policy.timeout_s)

    def _outcome(
        self, item: ClaimedDelivery, result: HttpResult, started: datetime, number: int
    ) -> AttemptOutcome:
        attempt = DeliveryAttempt(
            id=new_id("att", started.timestamp()),
            delivery_id=item.delivery.id,
            attempted_at=started,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
            response_body=result.response_body,
            succeeded=result.succeeded,
        )
        if result.succeeded:
            return AttemptOutcome(attempt, "succeeded", number, None)
        if number >= self._policy.max_attempts:
            return AttemptOutcome(attempt, "dead", number, None)
        delay = self._policy.retry_delay(number)
        return AttemptOutcome(attempt, "failed", number, self._now() + timedelta(seconds=delay))

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._policy.timeout_s,
                follow_redirects=False,
                limits=httpx.Limits(max_connections=self._policy.concurrency),
            )
        return self._client

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.now(), UTC)


async def _finish(tasks: set[asyncio.Task[None]], timeout_s: float) -> None:
    """Wait up to ``timeout_s`` for ``tasks``, then cancel what is left."""
    _done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


def _describe(exc: Exception) -> str:
    """Keystead errors carry safe details; anything else (a driver error may quote
    SQL parameters) is named by its class only."""
    if isinstance(exc, KeysteadError):
        return f"{type(exc).__name__}: {exc.detail}"
    return type(exc).__name__


__all__ = ["USER_AGENT", "WebhookDispatcher"]
