"""Versioned key-encryption keys held in memory: what the ``file://`` and
``env://`` providers load, and how they wrap data keys.

Wrapping is AES Key Wrap (RFC 3394) under the version's 256-bit key: no nonce to
manage, an integrity check of its own, 40 bytes for a 32-byte data key, and the
same mechanism an HSM offers (``CKM_AES_KEY_WRAP``).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from keystead.errors import ConfigurationError, IntegrityError

KEK_BYTES = 32
MAX_VERSION = 2**32 - 1  # the sealed format stores the version in 4 bytes


class KeyMaterial:
    """Key-encryption keys by version (at least one); the highest is current.

    Immutable: :meth:`with_new_version` returns another. Its repr lists versions only."""

    __slots__ = ("_keks",)

    def __init__(self, keks: Mapping[int, bytes]) -> None:
        if not keks:
            raise ConfigurationError("a master keyring needs at least one key")
        for version, kek in keks.items():
            if not 1 <= version <= MAX_VERSION:
                raise ConfigurationError(f"master key version {version} is out of range")
            if len(kek) != KEK_BYTES:
                raise ConfigurationError(f"master key version {version} must be {KEK_BYTES} bytes")
        self._keks = dict(sorted(keks.items()))

    @classmethod
    def generate(cls) -> KeyMaterial:
        return cls({1: os.urandom(KEK_BYTES)})

    @property
    def current_version(self) -> int:
        return max(self._keks)

    def versions(self) -> list[int]:
        return list(self._keks)

    def has(self, version: int) -> bool:
        return version in self._keks

    def wrap(self, data_key: bytes) -> tuple[int, bytes]:
        version = self.current_version
        return version, aes_key_wrap(self._keks[version], data_key)

    def unwrap(self, version: int, wrapped: bytes) -> bytes:
        kek = self._keks.get(version)
        if kek is None:
            raise IntegrityError(f"master key version {version} is not in the keyring")
        try:
            return aes_key_unwrap(kek, wrapped)
        except (InvalidUnwrap, ValueError):
            raise IntegrityError(
                f"the data key does not unwrap under master key version {version} "
                "(altered, or not the key it was wrapped with)"
            ) from None

    def with_new_version(self) -> KeyMaterial:
        return KeyMaterial({**self._keks, self.current_version + 1: os.urandom(KEK_BYTES)})

    def without_version(self, version: int) -> KeyMaterial:
        """The keys but ``version``, which must be an old one."""
        if version not in self._keks:
            raise ConfigurationError(f"there is no master key version {version}")
        if version == self.current_version:
            raise ConfigurationError(f"master key version {version} is current: rotate first")
        return KeyMaterial({v: k for v, k in self._keks.items() if v != version})

    def encoded(self) -> list[tuple[int, str]]:
        """(version, base64 key) pairs, for a provider that writes them out."""
        return [(v, base64.b64encode(k).decode("ascii")) for v, k in self._keks.items()]

    def __repr__(self) -> str:
        return f"KeyMaterial(versions={self.versions()})"


class MaterialKeyring:
    """What the keyrings that hold ``KeyMaterial`` themselves (``file://``,
    ``env://``) share: every operation reads the material afresh from
    ``_keys()``, so a rotation made elsewhere is seen at the next call."""

    def _keys(self) -> KeyMaterial:
        raise NotImplementedError

    @property
    def current_version(self) -> int:
        return self._keys().current_version

    def versions(self) -> list[int]:
        return self._keys().versions()

    def wrap(self, data_key: bytes) -> tuple[int, bytes]:
        return self._keys().wrap(data_key)

    def unwrap(self, version: int, wrapped: bytes) -> bytes:
        return self._keys().unwrap(version, wrapped)


def material_of(keks: Mapping[int, bytes], origin: str) -> KeyMaterial:
    """:class:`KeyMaterial` whose errors name ``origin`` (a file, a variable)."""
    try:
        return KeyMaterial(keks)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{origin}: {exc.detail}") from None


def decode_kek(text: str, origin: str, version: int) -> bytes:
    """One base64 key; errors name ``origin`` and the version, never the text."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{origin}: master key version {version} is not base64") from None
    if len(raw) != KEK_BYTES:
        raise ConfigurationError(
            f"{origin}: master key version {version} must decode to {KEK_BYTES} bytes"
        )
    return raw


__all__ = ["KEK_BYTES", "KeyMaterial", "MaterialKeyring", "decode_kek", "material_of"]
