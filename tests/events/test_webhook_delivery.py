"""The dispatcher against real HTTP receivers on loopback: signed deliveries,
retries with backoff, the dead letter and replay, timeouts, secret rotation.

Every test runs on SQLite and PostgreSQL (the backend table), with a real clock
and small retry settings; waits poll with generous deadlines, nothing is timed.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from receivers import Receiver, always, failing_first
from webhookkit import FAST, check_signed, eventually, fast_settings, hook, issue, settled

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.events.webhooks import WebhookVerificationError, verify_signature
from keystead.service import Keystead


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Keystead]:
    """A service on the system clock (retries must come due by themselves)."""
    ks = await Keystead.open(settings=fast_settings(settings))
    try:
        yield ks
    finally:
        await ks.close()


@pytest.fixture
async def who(live: Keystead) -> Principal:
    return await live.workspaces.local_operator()


async def test_a_delivery_is_signed_and_carries_no_key(live: Keystead, who: Principal) -> None:
    async with Receiver() as receiver:
        created = await hook(live, who, receiver.url, ("key.created", "key.revoked"))
        await live.start_dispatcher()
        key = await issue(live, who)
        await live.keys.update(who, key.key.id, {"name": "renamed"})  # key.updated: not sent
        await live.keys.revoke(who, key.key.id)
        requests = await receiver.wait_for(2)
        for request in requests:
            check_signed(request, created.secret)
            assert key.plaintext not in request.body.decode()
            assert created.secret.removeprefix("whsec_") not in request.body.decode()
        bodies = [r.json() for r in requests]
        assert sorted(b["type"] for b in bodies) == ["key.created", "key.revoked"]
        for body in bodies:
            assert body["data"]["key_id"] == key.key.id
            assert body["data"]["workspace_id"] == who.workspace_id
            assert body["data"]["event_id"] == requests[bodies.index(body)].headers["webhook-id"]
        # a tampered body, another secret, an old timestamp: all refused
        first = requests[0]
        with pytest.raises(WebhookVerificationError):
            verify_signature(created.secret, first.headers, first.body + b" ")
        other = await live.webhooks.rotate_secret(who, created.webhook.id, expire_old_after_s=0)
        with pytest.raises(WebhookVerificationError):
            verify_signature(other.secret, first.headers, first.body)
        with pytest.raises(WebhookVerificationError, match="tolerance"):
            verify_signature(created.secret, first.headers, first.body, now=time.time() + 3600)

        async def both_succeeded() -> bool:
            page = await live.webhooks.deliveries(who, status="succeeded")
            return len(page.items) == 2

        await eventually(both_succeeded, "two succeeded deliveries")
    page = await live.webhooks.deliveries(who, webhook_id=created.webhook.id)
    for delivery in page.items:
        detail = await live.webhooks.delivery(who, delivery.id)
        assert [(a.status_code, a.succeeded) for a in detail.attempts] == [(200, True)]
        assert detail.attempts[0].response_body is not None
        assert delivery.attempts == 1 and delivery.next_attempt_at is None


async def test_failures_are_retried_with_backoff(live: Keystead, who: Principal) -> None:
    async with Receiver(failing_first(2)) as receiver:
        created = await hook(live, who, receiver.url)
        await live.start_dispatcher()
        await issue(live, who)
        requests = await receiver.wait_for(3)
        delivery = await settled(live, who, created.webhook.id, "succeeded")
    assert len({r.headers["webhook-id"] for r in requests}) == 1  # one event, three tries
    for request in requests:
        check_signed(request, created.secret)
    detail = await live.webhooks.delivery(who, delivery.id)
    assert [a.status_code for a in detail.attempts] == [500, 500, 200]
    assert delivery.attempts == 3
    # each retry waited at least half its backoff ceiling (full jitter over 0.5..1)
    base = FAST["webhook_retry_base_s"]
    for n in (1, 2):
        gap = requests[n].at - requests[n - 1].at
        assert gap >= 0.5 * base * 2 ** (n - 1) * 0.9, (n, gap)


async def test_always_failing_goes_dead_then_replays(live: Keystead, who: Principal) -> None:
    async with Receiver(always(503)) as receiver:
        created = await hook(live, who, receiver.url)
        await live.start_dispatcher()
        await issue(live, who)
        dead = await settled(live, who, created.webhook.id, "dead")
        assert len(receiver.requests) == FAST["webhook_max_attempts"]
        letter = await live.webhooks.deliveries(who, status="dead")
        assert [d.id for d in letter.items] == [dead.id]
        assert (dead.last_status_code, dead.next_attempt_at) == (503, None)

        receiver.answer = always(200)  # the receiver is fixed
        replayed = await live.webhooks.replay(who, dead.id)
        assert (replayed.status, replayed.attempts) == ("pending", 0)
        done = await settled(live, who, created.webhook.id, "succeeded")
        assert done.id == dead.id and done.attempts == 1
        requests = receiver.requests
        assert len(requests) == FAST["webhook_max_attempts"] + 1
        assert requests[-1].body == requests[0].body  # the payload it was created with
        check_signed(requests[-1], created.secret)
    detail = await live.webhooks.delivery(who, dead.id)
    assert [a.status_code for a in detail.attempts] == [503, 503, 503, 200]
    assert (await live.webhooks.deliveries(who, status="dead")).items == []


async def test_a_slow_receiver_times_out_and_is_retried(live: Keystead, who: Principal) -> None:
    def slow_once(n: int) -> tuple[int, float]:
        return (200, 30.0) if n == 0 else (200, 0.0)

    async with Receiver(slow_once) as receiver:
        created = await hook(live, who, receiver.url)
        await live.start_dispatcher()
        await issue(live, who)
        delivery = await settled(live, who, created.webhook.id, "succeeded")
    detail = await live.webhooks.delivery(who, delivery.id)
    first, second = detail.attempts
    assert (first.status_code, first.error, first.succeeded) == (None, "timeout", False)
    assert first.duration_ms >= 900  # the 1 s timeout, not the receiver's 30 s
    assert (second.status_code, second.succeeded) == (200, True)


async def test_rotation_signs_with_both_secrets(live: Keystead, who: Principal) -> None:
    async with Receiver() as receiver:
        created = await hook(live, who, receiver.url)
        rotated = await live.webhooks.rotate_secret(who, created.webhook.id)
        assert rotated.secret != created.secret
        await live.start_dispatcher()
        await issue(live, who)
        (overlap,) = await receiver.wait_for(1)
        signatures = overlap.headers["webhook-signature"].split(" ")
        assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
        verify_signature(rotated.secret, overlap.headers, overlap.body)
        verify_signature(created.secret, overlap.headers, overlap.body)

        final = await live.webhooks.rotate_secret(who, created.webhook.id, expire_old_after_s=0)
        key = await issue(live, who)
        await live.keys.revoke(who, key.key.id)
        after = (await receiver.wait_for(3))[1:]
    for request in after:
        assert len(request.headers["webhook-signature"].split(" ")) == 1
        verify_signature(final.secret, request.headers, request.body)
        for stale in (created.secret, rotated.secret):
            with pytest.raises(WebhookVerificationError):
                verify_signature(stale, request.headers, request.body)
