"""The store interface of transit keys: named keys and their sealed versions.

The store sees sealed key material only (``keystead.core.envelope``): sealing and
opening happen in the service, which holds the keyring. Every method is scoped by
workspace. A rotation names the latest version it follows (``expected``): of two
concurrent rotations, exactly one adds the version and the other gets ``None``.

``TransitStore`` is a protocol apart from the SQL code because it is part of ``Store``,
the one interface the service holds and a second backend implements.
tests/store/test_store_protocol.py holds ``SqlStore`` to it, signature by signature.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from keystead.core.events import Event
from keystead.core.transit import SealedTransitVersion, TransitKey

KeyUse = Callable[[TransitKey], None]
"""Called with the key's rules as they are read (the service plans the use on them;
its audit entry is committed afterwards, by ``AuditWriter``)."""


class TransitStore(Protocol):
    async def insert_transit_key(
        self, key: TransitKey, first: SealedTransitVersion, events: Sequence[Event] = ()
    ) -> bool:
        """Store a new key with its first version; False, and nothing written, when
        the mount already has a key of that name."""
        ...

    async def get_transit_key(self, workspace_id: str, mount: str, name: str) -> TransitKey | None:
        """The key with every version's metadata (no material)."""
        ...

    async def use_transit_key(
        self, workspace_id: str, mount: str, name: str, on_use: KeyUse
    ) -> TransitKey | None:
        """The key's rules, read in one statement outside any transaction, then
        ``on_use`` run on them (its
        ``versions`` are left empty: a use needs none of their metadata, and it is
        one query less); None when there is no such key (``on_use`` is then not
        called)."""
        ...

    async def get_transit_key_versions(
        self, workspace_id: str, key_id: str, versions: Sequence[int]
    ) -> list[SealedTransitVersion]:
        """The sealed material of the key's ``versions`` that exist."""
        ...

    async def add_transit_key_version(
        self,
        workspace_id: str,
        mount: str,
        name: str,
        version: SealedTransitVersion,
        *,
        expected: int,
        events: Sequence[Event] = (),
    ) -> TransitKey | None:
        """Add ``version`` as the key's latest if its latest is still ``expected``;
        None, and nothing written, otherwise (or when there is no such key)."""
        ...

    async def update_transit_key(self, key: TransitKey) -> TransitKey | None:
        """Change the key's rules (``min_decryption_version``,
        ``min_encryption_version``, ``deletion_allowed``, ``updated_time``) if its
        latest version is still ``key.latest_version``; None otherwise."""
        ...

    async def delete_transit_key(
        self, workspace_id: str, mount: str, name: str, events: Sequence[Event] = ()
    ) -> bool:
        """Delete the key and every version of its material."""
        ...

    async def list_transit_keys(self, workspace_id: str, mount: str) -> list[str]:
        """The names of a mount's keys, sorted."""
        ...


__all__ = ["KeyUse", "TransitStore"]
