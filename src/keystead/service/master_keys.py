"""The master key of a store: which keyring it uses, whether it is the right one,
and rotation (local operations: they act on this machine's key material).

A store remembers its master key by a *check*: a constant sealed with the
envelope format under the keyring, kept in the settings table. Opening the store
unseals it; another key fails the integrity check and the store is refused, as
it is for another server secret. A store with no check yet (every store made
before there were master keys, and stores opened without one) records the check
the first time it is opened with key material present; until then it works
without a master key, having nothing encrypted under one.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from keystead.core.envelope import Sealed, aad, seal, unseal
from keystead.errors import ConfigurationError, IntegrityError
from keystead.keyring import Keyring
from keystead.store import Store

CHECK_SETTING = "master_key_check"
_CHECK_PLAINTEXT = b"keystead master key check v1"
_CHECK_AAD = aad("keystead.master-key-check.v1")


@dataclass(frozen=True, slots=True)
class MasterKeyStatus:
    """What ``keystead master-key status`` shows: no key material, ever."""

    url: str
    present: bool
    """Whether there is key material at ``url``."""
    read_only: bool
    current_version: int | None
    versions: list[int]
    checked: bool
    """Whether the store has recorded which master key it belongs to."""
    check_version: int | None
    """The master-key version the store's check is wrapped under."""


class MasterKeys:
    """The store's master key: :attr:`keyring` for sealing, status and rotation."""

    def __init__(self, store: Store, keyring: Keyring) -> None:
        self._store = store
        self._keyring = keyring
        self.created = False
        """Whether opening this service created the key material (``keystead init``)."""

    @property
    def keyring(self) -> Keyring:
        """The keyring, or ``ConfigurationError`` when there is no key material."""
        if not self._keyring.exists():
            raise ConfigurationError(
                f"no master key at {self._keyring.url}: run 'keystead init' to create one, "
                "or set KEYSTEAD_MASTER_KEY_URL"
            )
        return self._keyring

    async def check(self, *, create: bool = False) -> None:
        """Refuse a master key other than the store's; record the check when absent.

        With ``create``, a store without a check gets new key material where
        there is none (``keystead init``); a store with a check never does, as a
        new key could only be the wrong one."""
        keyring = self._keyring
        stored = await self._store.get_setting(CHECK_SETTING)
        if stored is None:
            if not keyring.exists():
                if not create:
                    return  # nothing is encrypted under a master key yet
                keyring.create()
                self.created = True
            fresh = seal(_CHECK_PLAINTEXT, _CHECK_AAD, keyring).to_text()
            stored = await self._store.put_setting_if_absent(CHECK_SETTING, fresh)
        if not keyring.exists():
            raise ConfigurationError(
                f"this database was initialised with a master key, and there is none at "
                f"{keyring.url}: restore it or point KEYSTEAD_MASTER_KEY_URL at it"
            )
        try:
            opened = unseal(Sealed.from_text(stored), _CHECK_AAD, keyring)
        except IntegrityError:
            opened = b""
        if not hmac.compare_digest(opened, _CHECK_PLAINTEXT):
            raise ConfigurationError(
                f"the master key at {keyring.url} does not match the one this database "
                "was initialised with"
            )

    async def status(self) -> MasterKeyStatus:
        keyring = self._keyring
        present = keyring.exists()
        versions = keyring.versions() if present else []
        stored = await self._store.get_setting(CHECK_SETTING)
        return MasterKeyStatus(
            url=keyring.url,
            present=present,
            read_only=keyring.read_only,
            current_version=max(versions) if versions else None,
            versions=versions,
            checked=stored is not None,
            check_version=Sealed.from_text(stored).key_version if stored is not None else None,
        )

    async def references(self) -> dict[int, int]:
        """How many stored items each master-key version still wraps: the secret
        versions not destroyed and the transit key versions (webhook secrets and
        pickups join them when they move under the master key). A version with none
        left can be retired; what a rewrap works through."""
        counts = await self._store.count_secret_versions_by_key()
        for version, count in (await self._store.count_transit_key_versions_by_key()).items():
            counts[version] = counts.get(version, 0) + count
        return counts

    async def rotate(self) -> MasterKeyStatus:
        """Add a master-key version; new seals use it, old versions still unwrap."""
        self.keyring.rotate()
        await self.check()  # a store without a check records it now
        return await self.status()


__all__ = ["CHECK_SETTING", "MasterKeyStatus", "MasterKeys"]
