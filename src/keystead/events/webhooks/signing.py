"""Standard Webhooks signatures (https://www.standardwebhooks.com).

A secret is ``whsec_`` + base64 of 32 random bytes. A delivery carries
``webhook-id``, ``webhook-timestamp`` (unix seconds) and ``webhook-signature``:
space-separated ``v1,<base64 HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")>``,
one per valid secret (two while a rotated-out secret is still honoured).
Receivers check with :func:`verify_signature`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 32
DEFAULT_TOLERANCE_S = 300


class WebhookVerificationError(ValueError):
    """A delivery that does not verify. The message says why, never a secret."""


def new_secret() -> str:
    """A fresh ``whsec_...`` secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret (the prefix is optional)."""
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("the webhook secret is not base64") from None
    if not raw:
        raise WebhookVerificationError("the webhook secret is empty")
    return raw


def sign(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """One ``v1,<base64>`` signature of a message."""
    payload = body.encode() if isinstance(body, str) else body
    signed = f"{msg_id}.{timestamp}.".encode() + payload
    digest = hmac.digest(secret_bytes(secret), signed, hashlib.sha256)
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(
    secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes | str
) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        lowered = {k.lower(): v for k, v in headers.items()}
        value = lowered.get(name)
    if not value:
        raise WebhookVerificationError(f"the {name} header is missing")
    return value


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    *,
    now: float | None = None,
) -> None:
    """Check a delivery: one ``v1`` signature must match (constant-time compare),
    and ``webhook-timestamp`` must lie within ``tolerance_s`` of ``now`` (replay
    protection). Raises :class:`WebhookVerificationError`; returns nothing.

    ``body`` is the raw request body, exactly as received (not re-encoded JSON).
    """
    msg_id = _header(headers, "webhook-id")
    stamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a unix time") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance")
    expected = sign(secret, msg_id, timestamp, body).encode()
    matched = False
    for candidate in signatures.split(" "):
        # the whole "v1,<base64>" is compared, so another version never matches;
        # no early exit: every candidate costs the same
        if hmac.compare_digest(candidate.encode(), expected):
            matched = True
    if not matched:
        raise WebhookVerificationError("no signature matches")


__all__ = [
    "DEFAULT_TOLERANCE_S",
    "SECRET_PREFIX",
    "WebhookVerificationError",
    "new_secret",
    "secret_bytes",
    "sign",
    "signature_header",
    "verify_signature",
]
