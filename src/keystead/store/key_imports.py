"""The store interface of imported keys (docs/operations.md, "Importing keys"):
inserting them with their import record, finding a legacy hash by its lookup, and
moving a key from its legacy hash to Keystead's keyed hash on its first use.

The move is a compare-and-set on the key still being on its legacy hash: of two
nodes verifying a key's first use at once, one moves it and the other finds it
moved, and a change made meanwhile (a revocation, say) is kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from keystead.core.events import Event
from keystead.core.hashing import StoredHash
from keystead.core.legacy_hashes import LegacyHash
from keystead.core.models import Key


@dataclass(frozen=True, slots=True)
class ImportedKey:
    """One key to insert: the key, its stored hash (a placeholder for a legacy
    one, version 0), and its import record."""

    key: Key
    key_hash: StoredHash
    external_id: str | None
    scheme: str
    legacy: LegacyHash | None
    shaped_prefix: str | None
    """The prefix under which the key has Keystead's shape; "" when unknown, None
    when it cannot have it."""


@dataclass(frozen=True, slots=True)
class LegacyEntry:
    key_id: str
    lookup: str
    legacy: LegacyHash | None
    """None once the key was moved to the keyed hash (by another node, maybe)."""


class KeyImportStore(Protocol):
    async def imported_ids(self, workspace_id: str, external_ids: Sequence[str]) -> dict[str, str]:
        """external id -> key id of the keys imported under those ids."""
        ...

    async def insert_imported(self, rows: Sequence[ImportedKey], events: Sequence[Event]) -> None:
        """All or nothing; Conflict when an external id, a lookup or a hash exists."""
        ...

    async def find_legacy(self, lookups: Sequence[str]) -> list[LegacyEntry]:
        """The imported keys found by any of ``lookups`` (one indexed query), with
        their legacy hash unless they were moved already."""
        ...

    async def rehash_legacy(self, key_id: str, new_hash: StoredHash, at: datetime) -> bool:
        """Give the key its keyed hash and drop its legacy one; False when it had
        moved already."""
        ...

    async def count_imports(self, workspace_id: str | None) -> dict[str, tuple[int, int]]:
        """Per scheme: (keys imported, keys still on their legacy hash)."""
        ...

    async def imported_prefixes(self) -> frozenset[str] | None:
        """The ``shaped_prefix`` values of imported keys; None when no key was
        ever imported."""
        ...


__all__ = ["ImportedKey", "KeyImportStore", "LegacyEntry"]
