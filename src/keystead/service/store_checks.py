"""The checks a store passes before a service opens on it: migrated, and used
with this server secret and this master key only."""

from __future__ import annotations

import hmac

from keystead.errors import ConfigurationError
from keystead.keyring import Keyring
from keystead.service.master_keys import MasterKeys
from keystead.store import Store

_SECRET_CHECK = "secret_check"  # noqa: S105 - a settings row name


async def checked_store(
    store: Store, secret: bytes, keyring: Keyring, *, migrate: bool, create_master_key: bool
) -> MasterKeys:
    """Migrate ``store`` and refuse it unless the secret and master key are its own."""
    if migrate:
        await store.migrate()
    await _check_secret(store, secret)
    master_keys = MasterKeys(store, keyring)
    await master_keys.check(create=create_master_key)
    return master_keys


async def _check_secret(store: Store, secret: bytes) -> None:
    """Refuse a server secret other than the one the store was first used with:
    every key would silently answer NOT_FOUND otherwise."""
    fingerprint = hmac.digest(secret, b"keystead secret check v1", "sha256").hex()
    stored = await store.put_setting_if_absent(_SECRET_CHECK, fingerprint)
    if not hmac.compare_digest(stored, fingerprint):
        raise ConfigurationError(
            "the server secret does not match the one this database was initialised with"
        )


__all__ = ["checked_store"]
