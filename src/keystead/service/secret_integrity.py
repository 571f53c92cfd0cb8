"""A stored secret version that does not open: an alert and a log line, never a 500.

The version was altered, copied from another row (its associated data differs), or
sealed under a master key this keyring does not hold. The caller gets the
``IntegrityError`` (409); the operator gets a critical alert (deduplicated per
version while unresolved, ``alert.opened`` to the webhooks) and a warning in the log.
Neither carries a value or a key: only where the version lives.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import NoReturn

from keystead.core import events
from keystead.core.alerts import Alert, event_data
from keystead.core.envelope import Sealed, secret_aad, unseal
from keystead.core.ids import new_id
from keystead.core.secrets import SecretMetadata, VersionInfo
from keystead.errors import IntegrityError, KeysteadError
from keystead.keyring import Keyring
from keystead.service.context import ServiceContext

log = logging.getLogger("keystead.secrets")

RULE_ID = "system:secret_integrity"
_PARSED_MAX_BYTES = 4096
"""Sealed versions up to this size keep their parsed form (``_parsed``)."""
KIND = "secret_integrity"


async def report_failure(
    ctx: ServiceContext,
    secret: SecretMetadata,
    version: VersionInfo,
    notify: Callable[[Alert], None] | None = None,
) -> None:
    where = f"{secret.mount}/{secret.path}"
    log.warning(
        "secret %s version %d (workspace %s, master key v%s) failed its integrity check",
        where,
        version.version,
        secret.workspace_id,
        version.key_version,
    )
    now = ctx.now()
    alert = Alert(
        id=new_id("alr", now.timestamp()),
        workspace_id=secret.workspace_id,
        rule_id=RULE_ID,
        kind=KIND,
        scope="secret",
        scope_id=where,
        severity="critical",
        status="open",
        cause=(
            f"version {version.version} of the secret {where} failed its integrity check: "
            "altered, copied from another place, or sealed under another master key"
        ),
        evidence={
            "summary": {
                "mount": secret.mount,
                "path": secret.path,
                "version": version.version,
                "key_version": version.key_version,
            },
            "records": [],
            "record_count": 0,
        },
        dedupe_key=f"{KIND}:{where}:{version.version}",
        first_seen=now,
        last_seen=now,
    )
    opened = events.Event.new(events.ALERT_OPENED, secret.workspace_id, now, event_data(alert))
    try:
        stored, new = await ctx.store.raise_alert(alert, [opened])
    except KeysteadError as exc:  # the integrity error is what the caller must see
        log.error("could not record the integrity alert for %s: %s", where, exc.detail)
        return
    if new:
        ctx.events_written()
        if notify is not None:
            notify(stored)


@functools.lru_cache(maxsize=1024)
def _parsed(sealed: bytes) -> Sealed:
    """A sealed version's parts, remembered: a hot secret is read again and again
    (still sealed: unsealing is done at each read)."""
    return Sealed.from_bytes(sealed)


async def unseal_version(
    ctx: ServiceContext,
    keyring: Keyring,
    secret: SecretMetadata,
    info: VersionInfo,
    sealed: bytes,
    on_alert: Callable[[Alert], None] | None,
) -> bytes:
    """The plaintext of a stored version, or IntegrityError (and the alert) when it
    does not open where it lives."""
    try:
        return open_version(keyring, secret, info, sealed)
    except IntegrityError:
        await failed(ctx, secret, info, on_alert)


def open_version(
    keyring: Keyring, secret: SecretMetadata, info: VersionInfo, sealed: bytes
) -> bytes:
    """``unseal_version`` without its report: IntegrityError when the version does
    not open where it lives (then await ``failed``, which reports and raises)."""
    where = secret_aad(secret.workspace_id, secret.mount, secret.path, info.version)
    parsed = _parsed(sealed) if len(sealed) <= _PARSED_MAX_BYTES else Sealed.from_bytes(sealed)
    return unseal(parsed, where, keyring)


async def failed(
    ctx: ServiceContext,
    secret: SecretMetadata,
    info: VersionInfo,
    on_alert: Callable[[Alert], None] | None,
) -> NoReturn:
    """Report a version that failed its integrity check, and raise IntegrityError."""
    await report_failure(ctx, secret, info, on_alert)
    raise IntegrityError(
        f"version {info.version} of the secret at {secret.mount}/{secret.path} failed "
        "its integrity check (altered, moved, or sealed under another master key); "
        "an alert is open"
    ) from None


__all__ = ["KIND", "RULE_ID", "failed", "open_version", "report_failure", "unseal_version"]
