"""Envelope encryption: AES-256-GCM under a fresh data key, the data key wrapped
by a versioned master key (the key-encryption key) that a keyring holds.

Pure: the keyring is passed in as a :class:`KeyWrapper` and only ever sees data
keys, never a plaintext value; nothing here reads a file, the clock or the store.

The sealed form, format version 1 (all integers big-endian)::

    offset  size  field
    0       1     format version (0x01)
    1       4     master-key version that wrapped the data key (uint32)
    5       2     length L of the wrapped data key (uint16)
    7       L     wrapped data key (opaque to this module: the keyring's own format)
    7+L     12    nonce (96 bits, random per item)
    19+L    n+16  AES-256-GCM ciphertext of the n-byte plaintext, then its 16-byte tag

Its text form is that byte string in unpadded base64url (RFC 4648 §5).

The associated data (AAD) binds an item to where it lives, so a sealed value
copied to another row does not open there. It is a label, then each field, each
as a 4-byte length and its UTF-8 bytes (integers in decimal): see :func:`aad`.
The master-key version is deliberately outside the AAD: :func:`rewrap` changes it
without touching the ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import struct
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keystead.errors import IntegrityError

FORMAT_V1 = 1
DATA_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_HEADER = struct.Struct(">BIH")  # format, master-key version, wrapped-key length
SECRET_AAD_LABEL = "keystead.secret.v1"  # noqa: S105 - a label, not a secret

_NOT_SEALED = "the value is not a sealed item (truncated, altered or of an unknown format)"
_FAILED = "the sealed item failed its integrity check (altered, moved, or the wrong key)"


class KeyWrapper(Protocol):
    """What sealing needs of a keyring: wrap and unwrap data keys, by version.

    A provider may do both inside a device (an HSM): the key-encryption key is
    never asked for. ``unwrap`` raises :class:`IntegrityError` when ``wrapped``
    was not made by that version's key."""

    @property
    def current_version(self) -> int: ...

    def wrap(self, data_key: bytes) -> tuple[int, bytes]: ...

    def unwrap(self, version: int, wrapped: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True, repr=False)
class Sealed:
    """One sealed item. Its repr shows sizes and versions, never the bytes."""

    key_version: int
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes
    """The GCM ciphertext with its tag appended."""
    format: int = FORMAT_V1

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(self.format, self.key_version, len(self.wrapped_key))
        return b"".join((header, self.wrapped_key, self.nonce, self.ciphertext))

    @classmethod
    def from_bytes(cls, data: bytes) -> Sealed:
        """Parse the byte form; anything malformed is an :class:`IntegrityError`."""
        if len(data) < _HEADER.size:
            raise IntegrityError(_NOT_SEALED)
        fmt, key_version, wrapped_len = _HEADER.unpack_from(data)
        start = _HEADER.size
        nonce_at = start + wrapped_len
        body_at = nonce_at + NONCE_BYTES
        if fmt != FORMAT_V1 or wrapped_len == 0 or len(data) < body_at + TAG_BYTES:
            raise IntegrityError(_NOT_SEALED)
        return cls(
            key_version=key_version,
            wrapped_key=bytes(data[start:nonce_at]),
            nonce=bytes(data[nonce_at:body_at]),
            ciphertext=bytes(data[body_at:]),
            format=fmt,
        )

    def to_text(self) -> str:
        return base64.urlsafe_b64encode(self.to_bytes()).rstrip(b"=").decode("ascii")

    @classmethod
    def from_text(cls, text: str) -> Sealed:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise IntegrityError(_NOT_SEALED) from None
        return cls.from_bytes(raw)

    def __repr__(self) -> str:
        return (
            f"Sealed(format={self.format}, key_version={self.key_version}, "
            f"ciphertext=<{len(self.ciphertext)} bytes>)"
        )


def aad(label: str, *fields: str | int) -> bytes:
    """Unambiguous associated data: ``label`` and each field length-prefixed
    (4-byte big-endian length, then UTF-8; an int as its decimal digits), so no
    two different field lists encode alike (``("a/b", "c")`` vs ``("a", "b/c")``)."""
    parts = []
    for field in (label, *fields):
        raw = str(field).encode("utf-8")
        parts.append(len(raw).to_bytes(4, "big"))
        parts.append(raw)
    return b"".join(parts)


@functools.lru_cache(maxsize=4096)
def secret_aad(workspace_id: str, mount: str, path: str, version: int) -> bytes:
    """The AAD of one version of a stored secret: where it lives, all of it."""
    return aad(SECRET_AAD_LABEL, workspace_id, mount, path, version)


def seal(plaintext: bytes, associated: bytes, wrapper: KeyWrapper) -> Sealed:
    """Encrypt ``plaintext`` under a fresh data key bound to ``associated``."""
    data_key = AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, associated)
    key_version, wrapped = wrapper.wrap(data_key)
    return Sealed(key_version, wrapped, nonce, ciphertext)


def unseal(sealed: Sealed, associated: bytes, wrapper: KeyWrapper) -> bytes:
    """The plaintext, or :class:`IntegrityError` when the item was altered, was
    sealed for another place (``associated`` differs), or the key is wrong."""
    data_key = wrapper.unwrap(sealed.key_version, sealed.wrapped_key)
    if len(data_key) != DATA_KEY_BYTES or len(sealed.nonce) != NONCE_BYTES:
        raise IntegrityError(_FAILED)
    try:
        return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, associated)
    except InvalidTag:
        raise IntegrityError(_FAILED) from None


def rewrap(sealed: Sealed, wrapper: KeyWrapper) -> Sealed:
    """The same item with its data key wrapped by the current master-key version.

    The ciphertext and nonce are kept byte for byte; the plaintext value is never
    decrypted. An item already under the current version is returned as is."""
    if sealed.key_version == wrapper.current_version:
        return sealed
    data_key = wrapper.unwrap(sealed.key_version, sealed.wrapped_key)
    key_version, wrapped = wrapper.wrap(data_key)
    return Sealed(key_version, wrapped, sealed.nonce, sealed.ciphertext, sealed.format)


__all__ = [
    "DATA_KEY_BYTES",
    "FORMAT_V1",
    "NONCE_BYTES",
    "SECRET_AAD_LABEL",
    "TAG_BYTES",
    "KeyWrapper",
    "Sealed",
    "aad",
    "rewrap",
    "seal",
    "secret_aad",
    "unseal",
]
