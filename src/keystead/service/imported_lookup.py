"""Verifying an imported key on its first use (docs/operations.md, "Importing
keys"): its legacy hash is found by one indexed lookup, checked by its scheme
(slow schemes off the event loop), and the key is moved to Keystead's keyed hash
at once, so each key pays its legacy hash once.

Called only on a miss of the keyed hash, and only when keys were imported: a key
in Keystead's shape with a wrong checksum still goes no further unless its prefix
is an imported key's (``routes_to_import``).
"""

from __future__ import annotations

import asyncio

from keystead.core import keyformat, legacy_hashes
from keystead.core.models import Key
from keystead.service.context import ServiceContext


def routes_to_import(ctx: ServiceContext, key: str) -> bool:
    """Whether a key that is not a well-formed Keystead key may be an imported one
    (I/O-free: refused otherwise, before any lookup)."""
    prefixes = ctx.imported_prefixes
    if prefixes is None or not legacy_hashes.plausible(key):
        return False
    if keyformat.is_shaped(key):  # Keystead's shape with a wrong checksum
        return "" in prefixes or key.rpartition("_")[0] in prefixes
    return True


async def find_imported(ctx: ServiceContext, plaintext: str) -> Key | None:
    """The imported key of ``plaintext`` still on its legacy hash, moved to the
    keyed hash; None when none matches."""
    given = ctx.settings.import_hmac_secret
    hmac_key = None if given is None else given.get_secret_value().encode()
    entries = await ctx.store.find_legacy(legacy_hashes.lookups_of(plaintext, hmac_key))
    if any(e.legacy is None for e in entries):
        # moved by another node since this one missed the keyed hash: found by it now
        moved = await ctx.store.find_key(ctx.hasher.hash(plaintext))
        if moved is not None:
            return moved
    slow = 0
    for entry in sorted(entries, key=lambda e: -len(e.lookup)):
        legacy = entry.legacy
        if legacy is None:
            continue
        if legacy_hashes.is_slow(legacy):
            if slow >= legacy_hashes.MAX_SLOW_CHECKS:
                continue
            slow += 1
            found = await asyncio.to_thread(legacy_hashes.matches, legacy, plaintext)
        else:
            found = legacy_hashes.matches(legacy, plaintext, hmac_key)
        if not found:
            continue
        # moved here, or by another node at the same moment: found by its hash now
        await ctx.store.rehash_legacy(entry.key_id, ctx.hasher.stored(plaintext), ctx.now())
        return await ctx.store.find_key(ctx.hasher.hash(plaintext))
    return None


__all__ = ["find_imported", "routes_to_import"]
