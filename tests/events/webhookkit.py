"""Helpers of the webhook tests: fast settings, a webhook and a key in a few
words, polling with a generous deadline (nothing in these tests is timed)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from receivers import Received

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.models import CreatedKey
from keystead.events.webhooks import USER_AGENT, verify_signature
from keystead.service import Keystead
from keystead.service.webhooks import CreatedWebhook
from keystead.store.webhooks import Delivery

FAST = {
    "outbox_poll_interval_s": 0.05,
    "webhook_retry_base_s": 0.2,
    "webhook_retry_max_s": 0.8,
    "webhook_max_attempts": 3,
    "webhook_timeout_s": 1.0,
}
DEADLINE_S = 10.0


def fast_settings(settings: Settings, **more: float) -> Settings:
    return settings.model_copy(update={**FAST, **more})


async def hook(
    ks: Keystead, who: Principal, url: str, events: tuple[str, ...] = ("*",)
) -> CreatedWebhook:
    return await ks.webhooks.create(who, url=url, events=list(events))


async def issue(ks: Keystead, who: Principal) -> CreatedKey:
    """A new key (a ``key.created`` event), on the workspace's first API."""
    apis = await ks.apis.list(who)
    api = apis[0] if apis else await ks.apis.create(who, name="hooked")
    return await ks.keys.create(who, api_id=api.id, name="k")


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = DEADLINE_S
) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.02)


async def only_delivery(ks: Keystead, who: Principal, webhook_id: str) -> Delivery:
    page = await ks.webhooks.deliveries(who, webhook_id=webhook_id)
    assert len(page.items) == 1, page.items
    found: Delivery = page.items[0]
    return found


async def settled(ks: Keystead, who: Principal, webhook_id: str, status: str) -> Delivery:
    """The webhook's one delivery, once it reached ``status``."""

    async def check() -> bool:
        page = await ks.webhooks.deliveries(who, webhook_id=webhook_id, status=status)
        return bool(page.items)

    await eventually(check, f"a {status} delivery")
    return await only_delivery(ks, who, webhook_id)


async def count_of(ks: Keystead, who: Principal, status: str, count: int) -> None:
    async def check() -> bool:
        page = await ks.webhooks.deliveries(who, status=status, limit=1000)
        return len(page.items) == count

    await eventually(check, f"{count} {status} deliveries", timeout_s=30.0)


def check_signed(request: Received, secret: str) -> None:
    """A Standard Webhooks delivery, signed with ``secret``."""
    verify_signature(secret, request.headers, request.body)
    assert request.method == "POST" and request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["webhook-id"].startswith("evt_")


__all__ = [
    "DEADLINE_S",
    "FAST",
    "check_signed",
    "count_of",
    "eventually",
    "fast_settings",
    "hook",
    "issue",
    "only_delivery",
    "settled",
]
