"""Webhook secrets at rest (:mod:`keystead.core.at_rest`).

With a master key, a secret is sealed under it: a fresh data key, the
workspace and webhook ids as associated data (a sealed secret copied onto
another endpoint does not open), and the data key wrapped by the master key, so
``keystead master-key rotate`` and ``rewrap`` cover webhook secrets too. A store
opened without a master key seals them the legacy way, under a key derived from
the server secret (HKDF-SHA256, info ``keystead webhook secrets v1``); such rows
are converted to the master key when the store is first opened with one.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keystead.core.at_rest import (
    LegacyBox,
    MasterKey,
    is_legacy,
    open_item,
    seal_item,
    webhook_secret_aad,
)
from keystead.errors import ConfigurationError, IntegrityError

HKDF_INFO = b"keystead webhook secrets v1"
KEY_BYTES = 32


def derive_key(server_secret: bytes) -> bytes:
    """The 32-byte legacy sealing key of webhook secrets, from the server secret."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=HKDF_INFO).derive(
        server_secret
    )


class SecretBox:
    """Seals and opens webhook secrets. Its repr never shows a key."""

    __slots__ = ("_legacy", "_master")

    def __init__(self, key: bytes, master: MasterKey | None = None) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the sealing key is {KEY_BYTES} bytes")
        self._legacy = LegacyBox(key)
        self._master = master

    @classmethod
    def from_server_secret(cls, server_secret: bytes, master: MasterKey | None = None) -> SecretBox:
        return cls(derive_key(server_secret), master)

    def __repr__(self) -> str:
        return "SecretBox(...)"

    @property
    def legacy(self) -> LegacyBox:
        """The legacy opener: for converting rows to the master key only."""
        return self._legacy

    def seal(self, secret: str, workspace_id: str, webhook_id: str) -> bytes:
        """Under the master key when there is one, else the legacy way."""
        master = self._master
        if master is not None and master.exists():
            return seal_item(secret.encode(), webhook_secret_aad(workspace_id, webhook_id), master)
        return self._legacy.seal(secret.encode(), webhook_id)

    def open(self, sealed: bytes, workspace_id: str, webhook_id: str) -> str:
        """The secret; ``ConfigurationError`` when it does not open (another
        master key or server secret, or a sealed value moved to another webhook)."""
        try:
            if is_legacy(sealed):
                return self._legacy.open(sealed, webhook_id).decode()
            if self._master is None:
                raise IntegrityError("no master key")
            aad = webhook_secret_aad(workspace_id, webhook_id)
            return open_item(sealed, aad, self._master).decode()
        except IntegrityError:
            raise ConfigurationError(
                f"the secret of webhook '{webhook_id}' does not open with this "
                "master key or server secret"
            ) from None


__all__ = ["HKDF_INFO", "SecretBox", "derive_key"]
