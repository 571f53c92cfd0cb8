"""Webhook secrets at rest: AES-256-GCM under a key derived from the server secret.

The store only ever holds ``version || nonce || ciphertext+tag``; the webhook id
is the associated data, so a sealed secret copied onto another endpoint does not
open. The derived key is separate from the key-hashing use of the server secret
(HKDF-SHA256, info ``keystead webhook secrets v1``).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keystead.errors import ConfigurationError

HKDF_INFO = b"keystead webhook secrets v1"
KEY_BYTES = 32
_VERSION = b"\x01"
_NONCE_BYTES = 12


def derive_key(server_secret: bytes) -> bytes:
    """The 32-byte sealing key of webhook secrets, from the server secret."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=HKDF_INFO).derive(
        server_secret
    )


class SecretBox:
    """Seals and opens webhook secrets. Its repr never shows the key."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the sealing key is {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_server_secret(cls, server_secret: bytes) -> SecretBox:
        return cls(derive_key(server_secret))

    def __repr__(self) -> str:
        return "SecretBox(...)"

    def seal(self, secret: str, webhook_id: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, secret.encode(), webhook_id.encode())

    def open(self, sealed: bytes, webhook_id: str) -> str:
        """The secret; ``ConfigurationError`` when it does not open (another server
        secret, or a sealed value moved to another webhook)."""
        if sealed[:1] != _VERSION or len(sealed) < 1 + _NONCE_BYTES + 16:
            raise ConfigurationError(f"the secret of webhook '{webhook_id}' is not readable")
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, webhook_id.encode()).decode()
        except InvalidTag:
            raise ConfigurationError(
                f"the secret of webhook '{webhook_id}' does not open with this server secret"
            ) from None


__all__ = ["HKDF_INFO", "SecretBox", "derive_key"]
