"""The kinds of sealed material in the SQL store (see ``keystead.store.sealed``).

Each is a sealed column of a table, the column holding the master-key version
that wraps it, the row identity (primary key), and a filter for the rows that
hold an item at all. One more kind of sealed material (transit keys, ...) is one
more :class:`SealedKind` in :data:`KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from keystead.store.sql.tables import (
    pickups,
    secret_versions,
    server_secret_versions,
    token_signing_keys,
    transit_key_versions,
    webhooks,
)


@dataclass(frozen=True, slots=True)
class SealedKind:
    name: str
    table: sa.Table
    identity: tuple[str, ...]
    """Primary-key columns, in keyset order."""
    blob: str
    key_version: str
    place: tuple[str, ...] = ()
    """Columns the associated data binds (for converting the legacy form)."""
    holds: Callable[[sa.Table], sa.ColumnElement[bool]] | None = None
    """Which rows hold an item of this kind, beyond a non-NULL ``blob``."""
    legacy: bool = False
    """Whether a row with an item and no ``key_version`` is in the legacy form."""

    def column(self, name: str) -> sa.ColumnElement[object]:
        return self.table.c[name]

    def present(self) -> sa.ColumnElement[bool]:
        found = self.table.c[self.blob].is_not(None)
        return found if self.holds is None else found & self.holds(self.table)


KINDS: tuple[SealedKind, ...] = (
    SealedKind(
        "secret_version", secret_versions, ("secret_id", "version"), "sealed", "key_version"
    ),
    SealedKind(
        "transit_key_version",
        transit_key_versions,
        ("key_id", "version"),
        "sealed",
        "key_version",
    ),
    SealedKind("token_signing_key", token_signing_keys, ("id",), "sealed", "key_version"),
    SealedKind("server_secret", server_secret_versions, ("version",), "sealed", "key_version"),
    SealedKind(
        "webhook_secret",
        webhooks,
        ("id",),
        "secret",
        "key_version",
        place=("workspace_id", "id"),
        legacy=True,
    ),
    SealedKind(
        "webhook_old_secret",
        webhooks,
        ("id",),
        "old_secret",
        "old_key_version",
        place=("workspace_id", "id"),
        legacy=True,
    ),
    SealedKind(
        "pickup",
        pickups,
        ("id",),
        "ciphertext",
        "key_version",
        place=("workspace_id", "id"),
        holds=lambda t: t.c.format == "sealed",
        legacy=True,
    ),
)

__all__ = ["KINDS", "SealedKind"]
