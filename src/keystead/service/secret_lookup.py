"""Finding a key whose stored hash was made under an older server-secret version,
and moving it to the newest (docs/operations.md, "Rotating the server secret").

Called only when the lookup under the newest version missed and older versions
are still in use (``ServiceContext.older_hashers``, a configured bound): the hit
path under the newest version is untouched. A key found under an older version
is re-hashed at once, a compare-and-set on the hash read, so each key pays the
extra lookups once. A node that does not hash under the newest version yet (it
has not reached the version's activation) never moves a key backwards.
"""

from __future__ import annotations

import logging

from keystead.core.hashing import KeyHasher
from keystead.core.models import Key, RootKey
from keystead.errors import Conflict, StoreUnavailable
from keystead.service.context import ServiceContext

log = logging.getLogger("keystead.server_secret")


async def find_key_under_older(ctx: ServiceContext, key: str) -> Key | None:
    """The key of plaintext ``key`` under an older version, re-hashed to the newest."""
    for hasher in ctx.older_hashers:
        digest = hasher.hash(key)
        found = await ctx.store.find_key(digest)
        if found is not None:
            newest = ctx.hasher
            if _moves(hasher, newest):
                await _rehash(ctx, "key", found.id, digest, newest, key)
            return found
    return None


async def find_root_key_under_older(ctx: ServiceContext, token: str) -> RootKey | None:
    """The root key of ``token`` under an older version, re-hashed to the newest."""
    for hasher in ctx.older_hashers:
        digest = hasher.hash(token)
        found = await ctx.store.find_root_key(digest)
        if found is not None:
            newest = ctx.hasher
            if _moves(hasher, newest):
                await _rehash(ctx, "root_key", found.id, digest, newest, token)
            return found
    return None


async def find_key_any_version(ctx: ServiceContext, key: str) -> Key | None:
    """Under the newest version, then the older ones (leak reports: off the hot path)."""
    found = await ctx.store.find_key(ctx.hasher.hash(key))
    return found if found is not None else await find_key_under_older(ctx, key)


async def find_root_key_any_version(ctx: ServiceContext, token: str) -> RootKey | None:
    found = await ctx.store.find_root_key(ctx.hasher.hash(token))
    return found if found is not None else await find_root_key_under_older(ctx, token)


def _moves(found_under: KeyHasher, newest: KeyHasher) -> bool:
    return found_under.version < newest.version


async def _rehash(
    ctx: ServiceContext, kind: str, ident: str, old: bytes, newest: KeyHasher, plaintext: str
) -> None:
    """Store the hash under ``newest``; a failure only leaves it for next time."""
    stored = newest.stored(plaintext)
    try:
        if kind == "key":
            await ctx.store.rehash_key(ident, old, stored)
        else:
            await ctx.store.rehash_root_key(ident, old, stored)
    except (StoreUnavailable, Conflict) as exc:
        log.warning("could not re-hash %s %s to version %d: %s", kind, ident, newest.version, exc)


__all__ = [
    "find_key_any_version",
    "find_key_under_older",
    "find_root_key_any_version",
    "find_root_key_under_older",
]
