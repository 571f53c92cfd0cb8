"""The key material of transit key versions: made and sealed, opened and cached.

Material is 32 random bytes per version, sealed with the envelope under the
master key and ``transit_key_aad(workspace, mount, name, version)``. Opened
material is cached in this process by (key id, version): a version's material never
changes once written, and a key id is never reused (a key deleted and created
again under the same name has a new id), so the cache needs no invalidation
across nodes. A key's rules (latest version, minimums, deletion) are not cached:
each use reads them afresh, so a
rotation or a new ``min_decryption_version`` on any node holds at once.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable

from keystead.core import events
from keystead.core.alerts import Alert, event_data
from keystead.core.envelope import Sealed, seal, unseal
from keystead.core.ids import new_id
from keystead.core.transit import (
    KEY_BYTES,
    SealedTransitVersion,
    TransitKey,
    TransitKeyVersion,
    new_key_material,
    transit_key_aad,
)
from keystead.errors import IntegrityError, KeysteadError, NotFound
from keystead.service.context import ServiceContext
from keystead.service.master_keys import MasterKeys

log = logging.getLogger("keystead.transit")

CACHE_SIZE = 10_000
"""Opened key versions kept per process (least recently used dropped first)."""
RULE_ID = "system:transit_key_integrity"
KIND = "transit_key_integrity"


class KeyMaterial:
    def __init__(
        self,
        ctx: ServiceContext,
        master_keys: MasterKeys,
        on_alert: Callable[[Alert], None] | None = None,
    ) -> None:
        self._ctx = ctx
        self._master_keys = master_keys
        self._on_alert = on_alert
        self._cache: OrderedDict[tuple[str, int], bytes] = OrderedDict()

    def new_version(
        self, workspace_id: str, mount: str, name: str, version: int
    ) -> SealedTransitVersion:
        """Fresh material for ``version``, sealed (the plain bytes are not kept)."""
        where = transit_key_aad(workspace_id, mount, name, version)
        sealed = seal(new_key_material(), where, self._master_keys.keyring)
        info = TransitKeyVersion(version, self._ctx.now(), sealed.key_version)
        return SealedTransitVersion(info, sealed.to_bytes())

    async def open(self, key: TransitKey, versions: Iterable[int]) -> dict[int, bytes]:
        """The material of ``versions`` of ``key``, from the cache or the store."""
        wanted = sorted(set(versions))
        found: dict[int, bytes] = {}
        missing = []
        for number in wanted:
            cached = self._cache.get((key.id, number))
            if cached is None:
                missing.append(number)
            else:
                self._cache.move_to_end((key.id, number))
                found[number] = cached
        if missing:
            stored = await self._ctx.store.get_transit_key_versions(
                key.workspace_id, key.id, missing
            )
            for item in stored:
                try:
                    found[item.info.version] = self._unseal(key, item)
                except IntegrityError:
                    await self._alert(key, item.info.version, item.info.key_version)
                    raise
        absent = [n for n in wanted if n not in found]
        if absent:
            raise NotFound(f"version {absent[0]} of the transit key {key.name} is not stored")
        return found

    def forget(self, key_id: str) -> None:
        """Drop a deleted key's material from this process."""
        for entry in [e for e in self._cache if e[0] == key_id]:
            del self._cache[entry]

    async def _alert(self, key: TransitKey, number: int, key_version: int) -> None:
        """A critical alert (deduplicated per key version while open), as for a stored
        secret that fails its integrity check: where, never material."""
        where, now = f"{key.mount}/{key.name}", self._ctx.now()
        alert = Alert(
            id=new_id("alr", now.timestamp()),
            workspace_id=key.workspace_id,
            rule_id=RULE_ID,
            kind=KIND,
            scope="transit_key",
            scope_id=where,
            severity="critical",
            status="open",
            cause=(
                f"version {number} of the transit key {where} failed its integrity check: "
                "altered, copied from another place, or sealed under another master key"
            ),
            evidence={
                "summary": {"mount": key.mount, "name": key.name, "version": number},
                "records": [],
                "record_count": 0,
            },
            dedupe_key=f"{KIND}:{where}:{number}",
            first_seen=now,
            last_seen=now,
        )
        opened = events.Event.new(events.ALERT_OPENED, key.workspace_id, now, event_data(alert))
        try:
            stored, new = await self._ctx.store.raise_alert(alert, [opened])
        except KeysteadError as exc:  # the integrity error is what the caller must see
            log.error("could not record the integrity alert for %s: %s", where, exc.detail)
            return
        if new:
            self._ctx.events_written()
            if self._on_alert is not None:
                self._on_alert(stored)

    def _unseal(self, key: TransitKey, item: SealedTransitVersion) -> bytes:
        number = item.info.version
        where = transit_key_aad(key.workspace_id, key.mount, key.name, number)
        try:
            material = unseal(Sealed.from_bytes(item.sealed), where, self._master_keys.keyring)
        except IntegrityError:
            log.warning(
                "transit key %s/%s version %d (workspace %s, master key v%d) failed its "
                "integrity check",
                key.mount,
                key.name,
                number,
                key.workspace_id,
                item.info.key_version,
            )
            raise IntegrityError(
                f"version {number} of the transit key {key.mount}/{key.name} failed its "
                "integrity check (altered, moved, or sealed under another master key); "
                "an alert is open"
            ) from None
        if len(material) != KEY_BYTES:
            raise IntegrityError(f"version {number} of the transit key {key.name} is malformed")
        self._cache[(key.id, number)] = material
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return material


__all__ = ["CACHE_SIZE", "KIND", "RULE_ID", "KeyMaterial"]
