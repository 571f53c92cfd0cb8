"""The store interface of the server secret's versions (docs/operations.md,
"Rotating the server secret"): the versions table, and moving a key's stored
hash to a newer version.

A re-hash is a compare-and-set on the hash read: of two nodes re-hashing one key
at once, one changes the row and the other finds it changed, and a key changed
meanwhile (revoked, say) keeps that change, since only the hash moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from keystead.core.hashing import StoredHash
from keystead.core.secret_versions import SecretVersion


@dataclass(frozen=True, slots=True)
class SealedSecretVersion:
    """A version's row: its times, and its material sealed under the master key
    (None for version 1, whose material is the secret file, and once retired)."""

    version: SecretVersion
    sealed: bytes | None = None


class ServerSecretStore(Protocol):
    async def list_secret_versions(self) -> list[SealedSecretVersion]: ...
    async def add_secret_version(
        self, version: SecretVersion, sealed: bytes, key_version: int
    ) -> None:
        """Conflict when the version exists (two rotations at once)."""
        ...

    async def retire_secret_version(self, version: int, at: datetime) -> bool:
        """Mark it retired and drop its material; False when it was retired already."""
        ...

    async def count_hash_versions(self) -> dict[int, tuple[int, int]]:
        """Per version: (keys, root keys) whose stored hash was made under it."""
        ...

    async def rehash_key(self, key_id: str, old_hash: bytes, new_hash: StoredHash) -> bool: ...
    async def rehash_root_key(
        self, root_key_id: str, old_hash: bytes, new_hash: StoredHash
    ) -> bool: ...
