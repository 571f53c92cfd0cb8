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
from collections.abc import Mapping
from dataclasses import dataclass, field

from keystead.core.envelope import Sealed, aad, rewrap, seal, unseal
from keystead.errors import ConfigurationError, Conflict, IntegrityError, ValidationError
from keystead.keyring import Keyring
from keystead.service.sealed_material import (
    BATCH,
    LegacyForm,
    Moved,
    Progress,
    convert_legacy,
    rewrap_all,
)
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
    references: dict[int, dict[str, int]] = field(default_factory=dict)
    """Per master-key version, how many sealed items of each kind it wraps."""
    legacy: dict[str, int] = field(default_factory=dict)
    """Per kind, items still sealed under the server secret (moved at the next
    open with a master key, or by a rewrap)."""


@dataclass(frozen=True, slots=True)
class RewrapResult:
    """What ``keystead master-key rewrap`` did: no key material, no value."""

    current_version: int
    rewrapped: dict[str, int]
    """Per kind, items re-wrapped to :attr:`current_version`."""
    converted: dict[str, int]
    """Per kind, legacy items moved under the master key first."""
    skipped: dict[str, int]
    """Per kind, items another writer changed meanwhile (already current) or unreadable."""
    check_rewrapped: bool
    before: dict[int, dict[str, int]]
    """References per version and kind before the run."""
    after: dict[int, dict[str, int]]
    """References per version and kind after it."""


class MasterKeys:
    """The store's master key: :attr:`keyring` for sealing, status and rotation."""

    def __init__(self, store: Store, keyring: Keyring) -> None:
        self._store = store
        self._keyring = keyring
        self.created = False
        """Whether opening this service created the key material (``keystead init``)."""
        self.legacy_forms: Mapping[str, LegacyForm] = {}
        """The legacy forms of the kinds that have one (set by the service)."""

    @property
    def provider(self) -> Keyring:
        """The keyring, whether or not it holds key material yet."""
        return self._keyring

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
            references=await self.references_by_version(),
            legacy={k: n for k, n in (await self._store.count_legacy_sealed()).items() if n},
        )

    async def references(self) -> dict[int, int]:
        """How many stored items each master-key version still wraps: secret
        versions not destroyed, transit key versions, webhook secrets (current and
        replaced) and sealed pickups not yet claimed. A version with none left (and not holding the
        store's check) can be retired; what a rewrap works through."""
        totals: dict[int, int] = {}
        for counts in (await self._store.count_sealed()).values():
            for version, n in counts.items():
                totals[version] = totals.get(version, 0) + n
        return dict(sorted(totals.items()))

    async def references_by_version(self) -> dict[int, dict[str, int]]:
        """:meth:`references` per kind of sealed material."""
        found: dict[int, dict[str, int]] = {}
        for kind, counts in (await self._store.count_sealed()).items():
            for version, n in counts.items():
                found.setdefault(version, {})[kind] = n
        return dict(sorted(found.items()))

    async def rotate(self) -> MasterKeyStatus:
        """Add a master-key version; new seals use it, old versions still unwrap."""
        self.keyring.rotate()
        await self.check()  # a store without a check records it now
        await self.convert_legacy()
        return await self.status()

    async def convert_legacy(self) -> Moved:
        """Seal the items still in the legacy form under the master key (done
        when the service opens with one; idempotent)."""
        if not self.legacy_forms or not self._keyring.exists():
            return Moved()
        return await convert_legacy(self._store, self._keyring, self.legacy_forms)

    async def rewrap(self, *, batch: int = BATCH, progress: Progress | None = None) -> RewrapResult:
        """Re-wrap every data key to the current master-key version, without
        decrypting any value; resumable (see ``service.sealed_material``)."""
        keyring = self.keyring
        await self.check()
        before = await self.references_by_version()
        converted = await self.convert_legacy()
        done = await rewrap_all(self._store, keyring, batch=batch, progress=progress)
        return RewrapResult(
            current_version=keyring.current_version,
            rewrapped=done.moved,
            converted=converted.moved,
            skipped={k: n + converted.skipped.get(k, 0) for k, n in done.skipped.items()},
            check_rewrapped=await self._rewrap_check(keyring),
            before=before,
            after=await self.references_by_version(),
        )

    async def pending(self) -> dict[str, int]:
        """Per kind, how many items a rewrap has left to move."""
        current = self.keyring.current_version
        return {
            kind: sum(n for v, n in counts.items() if v != current)
            for kind, counts in (await self._store.count_sealed()).items()
        }

    async def retire(self, version: int) -> MasterKeyStatus:
        """Remove ``version`` from the keyring; refused while it is current, or
        while anything (a sealed item, the store's check) is wrapped under it."""
        keyring = self.keyring
        versions = keyring.versions()
        if version not in versions:
            shown = ", ".join(map(str, versions))
            raise ValidationError(
                f"the keyring holds no master key version {version} (it holds {shown})",
                field="version",
            )
        if version == max(versions):
            raise Conflict(
                f"master key version {version} is the current one: rotate, rewrap, then retire it"
            )
        using = dict((await self.references_by_version()).get(version, {}))
        stored = await self._store.get_setting(CHECK_SETTING)
        if stored is not None and Sealed.from_text(stored).key_version == version:
            using["store_check"] = 1
        if using:
            shown = ", ".join(f"{n} {kind}" for kind, n in sorted(using.items()))
            raise Conflict(
                f"master key version {version} still wraps {shown}: run "
                "'keystead master-key rewrap' first"
            )
        keyring.retire(version)
        return await self.status()

    async def _rewrap_check(self, keyring: Keyring) -> bool:
        stored = await self._store.get_setting(CHECK_SETTING)
        if stored is None:
            return False
        sealed = Sealed.from_text(stored)
        if sealed.key_version == keyring.current_version:
            return False
        fresh = rewrap(sealed, keyring).to_text()
        return await self._store.replace_setting(CHECK_SETTING, stored, fresh)


__all__ = ["CHECK_SETTING", "MasterKeyStatus", "MasterKeys", "RewrapResult"]
