"""The store interface of sealed material: every stored item whose data key the
master key wraps, whatever table it lives in, seen through one small interface
so ``keystead master-key status|rewrap|retire`` treat them alike.

A *kind* is one sealed column of one table with the column recording the
master-key version that wraps it (``secret_version``, ``webhook_secret``, ...).
The store lists its kinds; a rewrap walks each, in batches, by row identity.
A replacement is conditional on the sealed bytes read (the master-key version
is part of them): a row a concurrent writer changed in between is left alone.

The SQL store's kinds are registered in ``keystead.store.sql.sealed_kinds``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

Identity = tuple[str | int, ...]


@dataclass(slots=True, frozen=True)
class SealedRow:
    """One sealed item as stored. ``place`` is what its associated data binds,
    for the kinds that have a legacy form (workspace id, row id)."""

    kind: str
    identity: Identity
    key_version: int | None
    blob: bytes = field(repr=False)
    place: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class Replacement:
    """New sealed bytes for a row, stored only if it still holds ``row.blob``."""

    row: SealedRow
    blob: bytes = field(repr=False)
    key_version: int


class SealedStore(Protocol):
    def sealed_kinds(self) -> list[str]:
        """The kinds of sealed material, in the order a rewrap walks them."""
        ...

    async def count_sealed(self) -> dict[str, dict[int, int]]:
        """Per kind, how many items each master-key version wraps."""
        ...

    async def count_legacy_sealed(self) -> dict[str, int]:
        """Per kind that has one, how many items are still in the legacy form."""
        ...

    async def sealed_batch(
        self,
        kind: str,
        *,
        legacy: bool,
        not_version: int | None,
        after: Identity | None,
        limit: int,
    ) -> list[SealedRow]:
        """Items of ``kind`` after ``after`` by identity, ascending: the legacy
        ones (``legacy``), or those wrapped under a version other than
        ``not_version``."""
        ...

    async def replace_sealed(self, kind: str, replacements: Sequence[Replacement]) -> int:
        """Store each replacement whose row still holds the bytes it was read
        with, in one transaction; return how many were stored."""
        ...


__all__ = ["Identity", "Replacement", "SealedRow", "SealedStore"]
