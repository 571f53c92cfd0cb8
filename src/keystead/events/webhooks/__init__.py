"""Webhooks: the outbox delivered to HTTP endpoints, signed per Standard Webhooks.

Receivers verify deliveries with :func:`verify_signature`::

    from keystead.events.webhooks import WebhookVerificationError, verify_signature

    try:
        verify_signature(secret, request.headers, raw_body)
    except WebhookVerificationError:
        ...  # answer 400 and ignore the delivery
"""

from keystead.events.webhooks.delivery import DeliveryPolicy, render_body
from keystead.events.webhooks.dispatcher import USER_AGENT, WebhookDispatcher
from keystead.events.webhooks.sealing import SecretBox, derive_key
from keystead.events.webhooks.signing import (
    WebhookVerificationError,
    new_secret,
    sign,
    signature_header,
    verify_signature,
)

__all__ = [
    "USER_AGENT",
    "DeliveryPolicy",
    "SecretBox",
    "WebhookDispatcher",
    "WebhookVerificationError",
    "derive_key",
    "new_secret",
    "render_body",
    "sign",
    "signature_header",
    "verify_signature",
]
