"""Small items sealed at rest beside their rows: webhook secrets and sealed pickups.

Two stored forms, told apart by their first byte:

* ``0x02`` then an envelope (:mod:`keystead.core.envelope`, byte form): the item
  is sealed under a fresh data key wrapped by the master key, bound by its AAD
  to where it lives. Every store with a master key writes this form.
* ``0x01``, a 96-bit nonce, then AES-256-GCM ciphertext and tag under a key
  derived from the server secret (HKDF-SHA256 with a per-use ``info``), the
  row id as associated data: the *legacy* form, written before the master key
  existed and still by a store opened without one. A store with a master key
  converts these rows to the envelope form when it opens (and before a rewrap).

Pure: keys and keyrings are passed in; nothing here reads a file, a clock or a store.
"""

from __future__ import annotations

import os
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keystead.core.envelope import KeyWrapper, Sealed, aad, rewrap, seal, unseal
from keystead.errors import IntegrityError

LEGACY = b"\x01"
ENVELOPE = b"\x02"
WEBHOOK_SECRET_LABEL = "keystead.webhook-secret.v1"  # noqa: S105 - a label, not a secret
PICKUP_LABEL = "keystead.pickup.v1"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_UNREADABLE = "the sealed item does not open (altered, moved, or another key)"


class MasterKey(KeyWrapper, Protocol):
    """What sealing at rest needs of the master keyring: wrapping, and whether
    there is key material at all (a store may have none yet)."""

    def exists(self) -> bool: ...


def webhook_secret_aad(workspace_id: str, webhook_id: str) -> bytes:
    """The AAD of a webhook's secret (the current one and the one it replaced)."""
    return aad(WEBHOOK_SECRET_LABEL, workspace_id, webhook_id)


def pickup_aad(workspace_id: str, pickup_id: str) -> bytes:
    """The AAD of a sealed pickup's key."""
    return aad(PICKUP_LABEL, workspace_id, pickup_id)


def seal_item(plaintext: bytes, associated: bytes, wrapper: KeyWrapper) -> bytes:
    """The envelope form of ``plaintext``, under the current master-key version."""
    return ENVELOPE + seal(plaintext, associated, wrapper).to_bytes()


def open_item(blob: bytes, associated: bytes, wrapper: KeyWrapper) -> bytes:
    """The plaintext of an envelope-form item; :class:`IntegrityError` otherwise."""
    return unseal(envelope_of(blob), associated, wrapper)


def rewrap_item(blob: bytes, wrapper: KeyWrapper) -> bytes:
    """The item with its data key wrapped by the current master-key version (the
    ciphertext kept byte for byte, never decrypted)."""
    return ENVELOPE + rewrap(envelope_of(blob), wrapper).to_bytes()


def envelope_of(blob: bytes) -> Sealed:
    if blob[:1] != ENVELOPE:
        raise IntegrityError("the item is not in the envelope form")
    return Sealed.from_bytes(blob[1:])


def is_legacy(blob: bytes) -> bool:
    return blob[:1] == LEGACY


def key_version_of(blob: bytes | None) -> int | None:
    """The master-key version an envelope-form item is wrapped under; None for
    no item or a legacy one (what the ``key_version`` columns record)."""
    if blob is None or blob[:1] != ENVELOPE:
        return None
    return envelope_of(blob).key_version


class LegacyBox:
    """The legacy form: AES-256-GCM under a key derived from the server secret.
    Its repr never shows the key."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the sealing key is 32 bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "LegacyBox(...)"

    def seal(self, plaintext: bytes, row_id: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return LEGACY + nonce + self._aead.encrypt(nonce, plaintext, row_id.encode())

    def open(self, blob: bytes, row_id: str) -> bytes:
        """The plaintext; :class:`IntegrityError` when it does not open."""
        if blob[:1] != LEGACY or len(blob) < 1 + _NONCE_BYTES + _TAG_BYTES:
            raise IntegrityError(_UNREADABLE)
        nonce, body = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, row_id.encode())
        except InvalidTag:
            raise IntegrityError(_UNREADABLE) from None


__all__ = [
    "ENVELOPE",
    "LEGACY",
    "PICKUP_LABEL",
    "WEBHOOK_SECRET_LABEL",
    "LegacyBox",
    "MasterKey",
    "envelope_of",
    "is_legacy",
    "key_version_of",
    "open_item",
    "pickup_aad",
    "rewrap_item",
    "seal_item",
    "webhook_secret_aad",
]
