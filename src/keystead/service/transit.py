"""``Keystead.transit``: encryption as a service with named keys, as Vault's Transit
engine (docs/secrets.md, "Transit").

Keys live on mounts of kind ``transit`` (enabled like any mount). Every method
takes the acting ``Principal`` first, checks the key name and the path-scoped
permission on ``<mount>/<key>`` before it looks anything up:

- ``secrets.encrypt``: encrypt and data keys; ``secrets.decrypt``: decrypt; rewrap
  asks for both (it decrypts inside Keystead and answers only a ciphertext);
- ``secrets.read``: a key's metadata; ``secrets.list`` on ``<mount>/*``: the names;
- ``secrets.admin``: create, rotate, configure, delete (and implies the others).

The audit log records every operation with the key, its versions and the count of
items in a batch; never a plaintext, a ciphertext or key material. Creating,
rotating and deleting a key also put ``transit_key.*`` events in the outbox.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from keystead.core import events
from keystead.core.alerts import Alert
from keystead.core.authz import Principal
from keystead.core.ids import new_id
from keystead.core.secret_paths import normalize_mount
from keystead.core.transit import (
    TRANSIT,
    TransitKey,
    TransitKeyNotFound,
    check_name,
    check_type,
    configured,
    refuse_unserved,
    settings,
)
from keystead.errors import Conflict, ValidationError
from keystead.service.context import ServiceContext
from keystead.service.master_keys import MasterKeys
from keystead.service.secret_mounts import SecretMounts
from keystead.service.transit_crypto import TransitCrypto
from keystead.service.transit_items import TransitResult

_RETRIES = 5
_KNOWN_MOUNTS = 10_000


class TransitService:
    def __init__(
        self,
        ctx: ServiceContext,
        master_keys: MasterKeys,
        on_alert: Callable[[Alert], None] | None = None,
    ) -> None:
        self._ctx = ctx
        self._mounts = SecretMounts(ctx)
        self._known_mounts: set[tuple[str, str]] = set()
        self._crypto = TransitCrypto(ctx, master_keys, self._create, on_alert)

    # keys -----------------------------------------------------------------------------
    async def create_key(
        self,
        principal: Principal,
        mount: str,
        name: str,
        *,
        type: str | None = None,
        derived: object = None,
        convergent_encryption: object = None,
        exportable: object = None,
        allow_plaintext_backup: object = None,
        auto_rotate_period: object = None,
    ) -> TransitKey:
        """Create the key with version 1; a key of that name already there is
        answered as it is (Vault's create is idempotent)."""
        mount, name = await self._address(principal, "admin", mount, name)
        key_type = check_type(type)
        refuse_unserved(
            derived=derived,
            convergent_encryption=convergent_encryption,
            exportable=exportable,
            allow_plaintext_backup=allow_plaintext_backup,
            auto_rotate_period=auto_rotate_period,
        )
        return await self._create(principal, mount, name, key_type)

    async def read_key(self, principal: Principal, mount: str, name: str) -> TransitKey:
        """The key's rules and versions (never material)."""
        mount, name = await self._address(principal, "read", mount, name)
        return await self._get(principal.workspace_id, mount, name)

    async def list_keys(self, principal: Principal, mount: str) -> builtins.list[str]:
        mount = normalize_mount(mount)
        principal.require_secret("list", mount, "")
        await self._transit_mount(principal.workspace_id, mount)
        return await self._ctx.store.list_transit_keys(principal.workspace_id, mount)

    async def rotate_key(self, principal: Principal, mount: str, name: str) -> TransitKey:
        """Add a version with fresh material; it encrypts from now on, and the older
        versions still decrypt (down to ``min_decryption_version``)."""
        mount, name = await self._address(principal, "admin", mount, name)
        ws = principal.workspace_id
        for _ in range(_RETRIES):
            key = await self._get(ws, mount, name)
            number = key.latest_version + 1
            version = self._crypto.material.new_version(ws, mount, name, number)
            event = events.transit_key_event(
                events.TRANSIT_KEY_ROTATED, ws, mount, name, self._ctx.now(), number
            )
            self._ctx.audit(
                principal,
                "transit_key.rotate",
                "transit_key",
                f"{mount}/{name}",
                after={"version": number},
            )
            rotated = await self._ctx.store.add_transit_key_version(
                ws, mount, name, version, expected=key.latest_version, events=[event]
            )
            if rotated is not None:
                self._ctx.events_written()
                return rotated
        raise Conflict("the key kept changing while it was rotated; retry")

    async def configure_key(
        self,
        principal: Principal,
        mount: str,
        name: str,
        *,
        min_decryption_version: object = None,
        min_encryption_version: object = None,
        deletion_allowed: object = None,
        exportable: object = None,
        allow_plaintext_backup: object = None,
        auto_rotate_period: object = None,
    ) -> TransitKey:
        """Change the rules given (None: keep). A ciphertext older than
        ``min_decryption_version`` no longer decrypts, until the minimum is lowered."""
        mount, name = await self._address(principal, "admin", mount, name)
        refuse_unserved(
            exportable=exportable,
            allow_plaintext_backup=allow_plaintext_backup,
            auto_rotate_period=auto_rotate_period,
        )
        ws = principal.workspace_id
        for _ in range(_RETRIES):
            key = await self._get(ws, mount, name)
            changed = replace(
                configured(
                    key,
                    min_decryption_version=min_decryption_version,
                    min_encryption_version=min_encryption_version,
                    deletion_allowed=deletion_allowed,
                ),
                updated_time=self._ctx.now(),
            )
            self._ctx.audit(
                principal,
                "transit_key.configure",
                "transit_key",
                f"{mount}/{name}",
                before=settings(key),
                after=settings(changed),
            )
            updated = await self._ctx.store.update_transit_key(changed)
            if updated is not None:
                return updated
        raise Conflict("the key kept changing while it was configured; retry")

    async def delete_key(self, principal: Principal, mount: str, name: str) -> None:
        """Delete the key and all its material: what it encrypted can never be
        decrypted again. Only a key configured with ``deletion_allowed``."""
        mount, name = await self._address(principal, "admin", mount, name)
        ws = principal.workspace_id
        key = await self._get(ws, mount, name)
        if not key.deletion_allowed:
            raise ValidationError(
                "deletion is not allowed for this key: set deletion_allowed in its config first",
                field="deletion_allowed",
            )
        self._ctx.audit(
            principal,
            "transit_key.delete",
            "transit_key",
            f"{mount}/{name}",
            before={"versions": key.latest_version},
        )
        event = events.transit_key_event(
            events.TRANSIT_KEY_DELETED, ws, mount, name, self._ctx.now(), key.latest_version
        )
        if not await self._ctx.store.delete_transit_key(ws, mount, name, [event]):
            raise TransitKeyNotFound(f"no transit key '{name}' on the mount '{mount}'")
        self._crypto.material.forget(key.id)
        self._ctx.events_written()

    # operations ------------------------------------------------------------------------
    async def encrypt(
        self, principal: Principal, mount: str, name: str, items: Sequence[Mapping[str, Any]]
    ) -> builtins.list[TransitResult]:
        """Encrypt each item's ``plaintext`` (base64) under ``key_version`` (0 or
        absent: the latest); a bad item gets an ``error`` and the others are served.
        A missing key is created first when the principal may administer it (Vault's
        upsert), else ``TransitKeyNotFound``."""
        mount, name = await self._address(principal, "encrypt", mount, name)
        return await self._crypto.encrypt(principal, mount, name, items)

    async def decrypt(
        self, principal: Principal, mount: str, name: str, items: Sequence[Mapping[str, Any]]
    ) -> builtins.list[TransitResult]:
        """Decrypt each item's ``ciphertext``: the result's ``plaintext`` is base64."""
        mount, name = await self._address(principal, "decrypt", mount, name)
        return await self._crypto.decrypt(principal, mount, name, items)

    async def rewrap(
        self, principal: Principal, mount: str, name: str, items: Sequence[Mapping[str, Any]]
    ) -> builtins.list[TransitResult]:
        """Each ``ciphertext`` encrypted again under the latest version (or
        ``key_version``); the plaintext never leaves Keystead."""
        mount, name = await self._address(principal, "decrypt", mount, name)
        principal.require_secret("encrypt", mount, name)
        return await self._crypto.rewrap(principal, mount, name, items)

    async def datakey(
        self, principal: Principal, mount: str, name: str, *, plaintext: bool, bits: object = None
    ) -> TransitResult:
        """A fresh random data key of ``bits`` (128, 256 or 512; default 256) encrypted
        under the key; with ``plaintext`` the answer carries it in base64 too."""
        mount, name = await self._address(principal, "encrypt", mount, name)
        return await self._crypto.datakey(principal, mount, name, plaintext=plaintext, bits=bits)

    # internals -------------------------------------------------------------------------
    async def _address(
        self, principal: Principal, action: str, mount: str, name: str
    ) -> tuple[str, str]:
        mount, name = normalize_mount(mount), check_name(name)
        principal.require_secret(action, mount, name)
        await self._transit_mount(principal.workspace_id, mount)
        return mount, name

    async def _transit_mount(self, workspace_id: str, mount: str) -> None:
        """The mount exists and is a transit one. A mount is never disabled and its
        kind never changes, so one found is remembered (bounded)."""
        if (workspace_id, mount) in self._known_mounts:
            return
        await self._mounts.resolve(workspace_id, mount, TRANSIT)
        if len(self._known_mounts) >= _KNOWN_MOUNTS:
            self._known_mounts.clear()
        self._known_mounts.add((workspace_id, mount))

    async def _get(self, workspace_id: str, mount: str, name: str) -> TransitKey:
        found = await self._ctx.store.get_transit_key(workspace_id, mount, name)
        if found is None:
            raise TransitKeyNotFound(f"no transit key '{name}' on the mount '{mount}'")
        return found

    async def _create(
        self, principal: Principal, mount: str, name: str, key_type: str
    ) -> TransitKey:
        ws, now = principal.workspace_id, self._ctx.now()
        existing = await self._ctx.store.get_transit_key(ws, mount, name)
        if existing is not None:
            return existing
        first = self._crypto.material.new_version(ws, mount, name, 1)
        key = TransitKey(
            id=new_id("tk", now.timestamp()),
            workspace_id=ws,
            mount=mount,
            name=name,
            type=key_type,
            created_time=now,
            updated_time=now,
            versions=(first.info,),
        )
        event = events.transit_key_event(events.TRANSIT_KEY_CREATED, ws, mount, name, now, 1)
        self._ctx.audit(
            principal, "transit_key.create", "transit_key", f"{mount}/{name}", after=settings(key)
        )
        if await self._ctx.store.insert_transit_key(key, first, [event]):
            self._ctx.events_written()
            return key
        return await self._get(ws, mount, name)  # created meanwhile


__all__ = ["TransitResult", "TransitService"]
