"""The latest version of recently read secrets, sealed, kept per service.

A read of a secret's current version takes it from here when it is, sparing the
store's query; only what the store gives is kept: the metadata and the SEALED
version (never a plaintext: each read unseals it again). Its state is judged at
each read (``VersionInfo.state(now)``), so a ``deletion_time`` that passes holds at
once.

An entry is dropped when this node changes the secret (``ServiceContext.
secret_changed``, and a metadata write), when the change feed brings another node's
change of it (``apply_remote``), and in any case ``TTL_S`` seconds after it was
read: the bound on how long another node's change (or a master-key rewrap) can go
unseen where no invalidation channel is configured. A read that raced a change
does not store what it read (``generation``). Concurrent misses of one secret share
one store read (``SingleFlight``): when a hot entry expires, the reads in flight for
it do not each query the store.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from keystead.core.secrets import SealedVersion, SecretMetadata
from keystead.service.single_flight import SingleFlight

if TYPE_CHECKING:
    from keystead.service.context import ServiceContext

TTL_S = 2.0
"""Seconds an entry is served at most."""
SIZE = 10_000
"""Entries at most (the least recently used go first)."""

Address = tuple[str, str, str]
"""(workspace, mount, path)."""
Latest = tuple[SecretMetadata, SealedVersion]


class SealedLatest:
    def __init__(self, size: int = SIZE, ttl_s: float = TTL_S) -> None:
        self._size = size
        self._ttl_s = ttl_s
        self._entries: OrderedDict[Address, tuple[float, Latest]] = OrderedDict()
        self.generation = 0
        """Moves on every invalidation: a read started before one does not store."""
        self.loading: SingleFlight[Address, tuple[SecretMetadata, SealedVersion | None] | None] = (
            SingleFlight()
        )

    def get(self, address: Address) -> Latest | None:
        found = self._entries.get(address)
        if found is None:
            return None
        if found[0] <= time.monotonic():
            del self._entries[address]
            return None
        self._entries.move_to_end(address)
        return found[1]

    def put(self, address: Address, latest: Latest, generation: int) -> None:
        """Keep ``latest`` unless something was invalidated since ``generation``."""
        if generation != self.generation or self._ttl_s <= 0:
            return
        self._entries[address] = (time.monotonic() + self._ttl_s, latest)
        self._entries.move_to_end(address)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def invalidate(self, address: Address) -> None:
        self.generation += 1
        self._entries.pop(address, None)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()


def cached_version(
    ctx: ServiceContext, ws: str, mount: str, path: str, version: int | None
) -> tuple[SecretMetadata, SealedVersion | None] | None:
    """The current version from ``ctx.secrets``, without a call, when that is what
    is asked and it is there (None: ask ``read_version``)."""
    return None if version is not None else ctx.secrets.get((ws, mount, path))


async def read_version(
    ctx: ServiceContext, ws: str, mount: str, path: str, version: int | None
) -> tuple[SecretMetadata, SealedVersion | None] | None:
    """``store.read_secret_version``; the current version from ``ctx.secrets`` when
    it is there."""
    if version is not None:
        return await ctx.store.read_secret_version(ws, mount, path, version)
    cache, address = ctx.secrets, (ws, mount, path)
    cached = cache.get(address)
    if cached is not None:
        return cached
    generation = cache.generation
    found = await cache.loading.run(
        address, generation, lambda: ctx.store.read_secret_version(ws, mount, path, None)
    )
    if found is not None and found[1] is not None:
        cache.put(address, (found[0], found[1]), generation)
    return found


__all__ = ["SIZE", "TTL_S", "Address", "Latest", "SealedLatest", "cached_version", "read_version"]
