"""The operations of ``ks.transit`` that use key material: encrypt, decrypt, rewrap
and data keys (``service/transit.py`` checks the permissions before these run).

Each call reads the key's rules, commits its audit entry (which names the key,
the versions used and how many items; never a plaintext or a ciphertext) through
the batched ``ServiceContext.audit_read`` before anything is answered, then opens
the versions it needs (``transit_material``) and works item by item: a bad item
gets its own error, as in Vault's ``batch_input``.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from keystead.core.alerts import Alert
from keystead.core.authz import Principal
from keystead.core.transit import (
    AES256_GCM96,
    DATAKEY_BITS,
    TransitKey,
    TransitKeyNotFound,
    decrypt,
    encode_b64,
    encrypt,
    format_ciphertext,
)
from keystead.errors import ValidationError
from keystead.service import transit_items
from keystead.service.context import ServiceContext
from keystead.service.master_keys import MasterKeys
from keystead.service.transit_items import Item, TransitResult
from keystead.service.transit_material import KeyMaterial

Create = Callable[[Principal, str, str, str], Awaitable[TransitKey]]


class TransitCrypto:
    def __init__(
        self,
        ctx: ServiceContext,
        master_keys: MasterKeys,
        create: Create,
        on_alert: Callable[[Alert], None] | None = None,
    ) -> None:
        self._ctx = ctx
        self._create = create
        self.material = KeyMaterial(ctx, master_keys, on_alert)

    async def encrypt(
        self, principal: Principal, mount: str, name: str, raw: Sequence[Mapping[str, Any]]
    ) -> list[TransitResult]:
        items = [transit_items.for_encrypt(r) for r in transit_items.batch(raw)]

        def plan(key: TransitKey) -> _Entry:
            _each(items, lambda item: _choose_version(key, item))
            return _entry("transit.encrypt", key, items)

        key = await self._use(principal, mount, name, plan, upsert=True)
        material = await self.material.open(key, {i.version for i in _valid(items)})
        _each(items, lambda item: _seal(key, material, item))
        return [
            _answer(item, ciphertext=_ciphertext(item), key_version=item.version) for item in items
        ]

    async def decrypt(
        self, principal: Principal, mount: str, name: str, raw: Sequence[Mapping[str, Any]]
    ) -> list[TransitResult]:
        items = [transit_items.for_decrypt(r) for r in transit_items.batch(raw)]

        def plan(key: TransitKey) -> _Entry:
            _each(items, lambda item: key.check_decryption_version(item.version))
            return _entry("transit.decrypt", key, items)

        key = await self._use(principal, mount, name, plan)
        material = await self.material.open(key, {i.version for i in _valid(items)})
        _each(items, lambda item: _open(key, material, item))
        return [
            _answer(item, plaintext=None if item.error else encode_b64(item.plaintext or b""))
            for item in items
        ]

    async def rewrap(
        self, principal: Principal, mount: str, name: str, raw: Sequence[Mapping[str, Any]]
    ) -> list[TransitResult]:
        items = [transit_items.for_decrypt(r, rewrap=True) for r in transit_items.batch(raw)]

        def plan(key: TransitKey) -> _Entry:
            _each(items, lambda item: key.check_decryption_version(item.version))
            _each(items, lambda item: _choose_target(key, item))
            return _entry("transit.rewrap", key, items)

        key = await self._use(principal, mount, name, plan)
        valid = _valid(items)
        material = await self.material.open(
            key, {i.version for i in valid} | {i.target_version for i in valid}
        )
        _each(items, lambda item: _open(key, material, item))
        _each(items, lambda item: _reseal(key, material, item))
        return [
            _answer(item, ciphertext=_ciphertext(item), key_version=item.version) for item in items
        ]

    async def datakey(
        self, principal: Principal, mount: str, name: str, *, plaintext: bool, bits: object
    ) -> TransitResult:
        size = 256 if bits is None else bits
        if isinstance(size, bool) or size not in DATAKEY_BITS:
            raise ValidationError("invalid bit length: 128, 256 or 512", field="bits")
        item = Item()

        def plan(key: TransitKey) -> _Entry:
            item.version = key.encryption_version()
            kind = "plaintext" if plaintext else "wrapped"
            return _entry(f"transit.datakey.{kind}", key, [item])

        key = await self._use(principal, mount, name, plan)
        material = await self.material.open(key, [item.version])
        data_key = os.urandom(int(size) // 8)
        item.payload = encrypt(key.type, material[item.version], data_key, None)
        return TransitResult(
            ciphertext=_ciphertext(item),
            plaintext=encode_b64(data_key) if plaintext else None,
            key_version=item.version,
        )

    # internals -------------------------------------------------------------------------
    async def _use(
        self,
        principal: Principal,
        mount: str,
        name: str,
        plan: Callable[[TransitKey], _Entry],
        *,
        upsert: bool = False,
    ) -> TransitKey:
        """The key's rules, ``plan`` run on them, and its audit entry committed."""
        ws = principal.workspace_id
        planned: list[_Entry] = []

        def use(key: TransitKey) -> None:
            planned.append(plan(key))

        key = await self._ctx.store.use_transit_key(ws, mount, name, use)
        if key is None and upsert and principal.may("admin", mount, name):
            await self._create(principal, mount, name, AES256_GCM96)
            key = await self._ctx.store.use_transit_key(ws, mount, name, use)
        if key is None:
            raise TransitKeyNotFound("encryption key not found")
        action, target, after = planned[-1]
        await self._ctx.audit_read(principal, action, "transit_key", target, after=after)
        return key


_Entry = tuple[str, str, dict[str, Any]]
"""An operation's audit entry: action, target, what it did."""


def _entry(action: str, key: TransitKey, items: list[Item]) -> _Entry:
    versions = sorted({i.version for i in _valid(items)})
    failed = sum(1 for i in items if i.error is not None)
    after = {"versions": versions, "items": len(items), "refused": failed}
    return action, f"{key.mount}/{key.name}", after


def _valid(items: list[Item]) -> list[Item]:
    return [item for item in items if item.error is None]


def _each(items: list[Item], step: Callable[[Item], object]) -> None:
    """``step`` on every item without an error yet; a ValidationError becomes the
    item's error."""
    for item in items:
        if item.error is None:
            try:
                step(item)
            except ValidationError as exc:
                item.error = exc.detail


def _choose_version(key: TransitKey, item: Item) -> None:
    item.version = key.encryption_version(item.version)


def _choose_target(key: TransitKey, item: Item) -> None:
    item.target_version = key.encryption_version(item.target_version)


def _seal(key: TransitKey, material: dict[int, bytes], item: Item) -> None:
    assert item.plaintext is not None  # noqa: S101 - checked by for_encrypt
    item.payload = encrypt(key.type, material[item.version], item.plaintext, item.associated)


def _reseal(key: TransitKey, material: dict[int, bytes], item: Item) -> None:
    """Rewrap: the opened plaintext encrypted under the target version, then dropped."""
    item.version = item.target_version
    _seal(key, material, item)
    item.plaintext = None


def _open(key: TransitKey, material: dict[int, bytes], item: Item) -> None:
    assert item.payload is not None  # noqa: S101 - parsed by for_decrypt
    item.plaintext = decrypt(key.type, material[item.version], item.payload, item.associated)


def _ciphertext(item: Item) -> str | None:
    if item.error is not None or item.payload is None:
        return None
    return format_ciphertext(item.version, item.payload)


def _answer(item: Item, **values: Any) -> TransitResult:
    if item.error is not None:
        return TransitResult(error=item.error, reference=item.reference)
    return TransitResult(reference=item.reference, **values)


__all__ = ["TransitCrypto"]
