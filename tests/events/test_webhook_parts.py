"""The parts of the webhook machinery: signatures (Standard Webhooks test vector),
sealed secrets, the retry schedule, and a dispatcher loop that survives its store
failing and stops within its bound."""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from collections.abc import AsyncIterator

import pytest
from receivers import Receiver
from webhookkit import eventually, fast_settings, hook, issue

from keystead.config import Settings
from keystead.core.clock import SystemClock
from keystead.errors import ConfigurationError, StoreUnavailable
from keystead.events.webhooks import (
    DeliveryPolicy,
    SecretBox,
    WebhookDispatcher,
    WebhookVerificationError,
    derive_key,
    new_secret,
    sign,
    verify_signature,
)
from keystead.service import Keystead

# the example of the Standard Webhooks specification
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def spec_headers(signature: str = SPEC_SIGNATURE, **more: str) -> dict[str, str]:
    return {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": signature,
        **more,
    }


def test_signatures_follow_the_specification() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    verify_signature(SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TIMESTAMP + 10)
    mixed = {"Webhook-Id": SPEC_ID, "WEBHOOK-TIMESTAMP": str(SPEC_TIMESTAMP)}
    mixed["Webhook-Signature"] = f"v1,bm90IGl0 {SPEC_SIGNATURE}"  # one of several matches
    verify_signature(SPEC_SECRET.removeprefix("whsec_"), mixed, SPEC_BODY, now=SPEC_TIMESTAMP)


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        (spec_headers(), SPEC_BODY + b" ", "no signature matches"),
        (spec_headers("v2," + SPEC_SIGNATURE[3:]), SPEC_BODY, "no signature matches"),
        (spec_headers(SPEC_SIGNATURE[:-2] + "A="), SPEC_BODY, "no signature matches"),
        (spec_headers(**{"webhook-timestamp": "soon"}), SPEC_BODY, "not a unix time"),
        (spec_headers(**{"webhook-timestamp": str(SPEC_TIMESTAMP - 301)}), SPEC_BODY, "tolerance"),
        ({"webhook-id": SPEC_ID}, SPEC_BODY, "webhook-timestamp header is missing"),
    ],
)
def test_bad_deliveries_do_not_verify(headers: dict[str, str], body: bytes, reason: str) -> None:
    with pytest.raises(WebhookVerificationError, match=reason):
        verify_signature(SPEC_SECRET, headers, body, now=SPEC_TIMESTAMP)


def test_a_malformed_secret_is_a_verification_error() -> None:
    with pytest.raises(WebhookVerificationError, match="base64"):
        verify_signature("whsec_***", spec_headers(), SPEC_BODY, now=SPEC_TIMESTAMP)


def test_new_secrets_are_32_random_bytes() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_sealed_secrets_open_only_for_their_webhook_and_server() -> None:
    box = SecretBox.from_server_secret(b"s" * 32)
    sealed = box.seal("whsec_abc", "ws_1", "wh_1")
    fresh = box.seal("whsec_abc", "ws_1", "wh_1")
    assert b"whsec_abc" not in sealed and sealed != fresh  # fresh nonce
    assert box.open(sealed, "ws_1", "wh_1") == "whsec_abc"
    with pytest.raises(ConfigurationError, match="does not open"):
        box.open(sealed, "ws_1", "wh_2")
    with pytest.raises(ConfigurationError, match="does not open"):
        SecretBox.from_server_secret(b"t" * 32).open(sealed, "ws_1", "wh_1")
    with pytest.raises(ConfigurationError, match="does not open"):
        box.open(b"\x02" + sealed[1:], "ws_1", "wh_1")
    assert derive_key(b"s" * 32) != b"s" * 32 and len(derive_key(b"s" * 32)) == 32
    assert "s" * 8 not in repr(box)


def test_the_retry_schedule_is_exponential_with_full_jitter() -> None:
    policy = DeliveryPolicy(retry_base_s=5, retry_max_s=3600)
    rng = random.Random(7)
    for attempt, ceiling in [
        (1, 5),
        (2, 10),
        (3, 20),
        (7, 320),
        (10, 2560),
        (11, 3600),
        (99, 3600),
    ]:
        delays = [policy.retry_delay(attempt, rng) for _ in range(200)]
        assert all(0.5 * ceiling <= d <= ceiling for d in delays), attempt
        assert max(delays) - min(delays) > 0.3 * ceiling  # spread, not a fixed step


class BrokenStore:
    """A store whose fan-out always fails."""

    def __init__(self) -> None:
        self.calls = 0

    async def fan_out_events(self, *_args: object, **_kwargs: object) -> int:
        self.calls += 1
        raise StoreUnavailable("the postgresql store failed: OperationalError")


async def test_the_loop_survives_a_failing_store(caplog: pytest.LogCaptureFixture) -> None:
    broken = BrokenStore()
    policy = DeliveryPolicy(poll_interval_s=0.01)
    box = SecretBox(b"k" * 32)
    dispatcher = WebhookDispatcher(broken, box, policy, SystemClock())  # type: ignore[arg-type]
    await dispatcher.start()

    async def tried_twice() -> bool:
        return broken.calls >= 2

    await eventually(tried_twice, "two rounds")
    assert dispatcher.running
    await dispatcher.stop()
    assert not dispatcher.running
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    expected = "webhook dispatch round failed: StoreUnavailable: the postgresql store failed"
    assert any(w.startswith(expected) for w in warnings), warnings


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[Keystead]:
    ks = await Keystead.open(settings=fast_settings(settings))
    try:
        yield ks
    finally:
        await ks.close()


async def test_stop_is_bounded_and_leaves_the_delivery_queued(live: Keystead) -> None:
    who = await live.workspaces.local_operator()
    async with Receiver(lambda _n: (200, 60.0)) as receiver:  # never answers in time
        created = await hook(live, who, receiver.url)
        dispatcher = live.webhooks.make_dispatcher(
            DeliveryPolicy(timeout_s=60.0, poll_interval_s=0.05)
        )
        await dispatcher.start()
        await issue(live, who)
        await receiver.wait_for(1)
        await asyncio.wait_for(dispatcher.stop(timeout_s=0.2), 10)  # not the 60 s timeout
    page = await live.webhooks.deliveries(who, webhook_id=created.webhook.id)
    (delivery,) = page.items
    assert (delivery.status, delivery.attempts) == ("pending", 0)  # claimed, to be retried
    assert (await live.webhooks.delivery(who, delivery.id)).attempts == []
