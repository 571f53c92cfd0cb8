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
from collections.abc import Awaitable, Callable
from typing import TypeVar

from keystead.core.hashing import StoredHash
from keystead.core.models import Key, RootKey
from keystead.errors import Conflict, StoreUnavailable
from keystead.service.context import ServiceContext

log = logging.getLogger("keystead.server_secret")
Found = TypeVar("Found", Key, RootKey)


async def find_key_under_older(ctx: ServiceContext, key: str) -> Key | None:
    """The key of plaintext ``key`` under an older version, re-hashed to the newest."""
    return await _under_older(ctx, key, ctx.store.find_key, ctx.store.rehash_key)


async def find_root_key_under_older(ctx: ServiceContext, token: str) -> RootKey | None:
    """The root key of ``token`` under an older version, re-hashed to the newest."""
    return await _under_older(ctx, token, ctx.store.find_root_key, ctx.store.rehash_root_key)


async def find_key_any_version(ctx: ServiceContext, key: str) -> Key | None:
    """Under the newest version, then the older ones (leak reports: off the hot path)."""
    found = await ctx.store.find_key(ctx.hasher.hash(key))
    return found if found is not None else await find_key_under_older(ctx, key)


async def find_root_key_any_version(ctx: ServiceContext, token: str) -> RootKey | None:
    found = await ctx.store.find_root_key(ctx.hasher.hash(token))
    return found if found is not None else await find_root_key_under_older(ctx, token)


async def _under_older(
    ctx: ServiceContext,
    plaintext: str,
    find: Callable[[bytes], Awaitable[Found | None]],
    rehash: Callable[[str, bytes, StoredHash], Awaitable[bool]],
) -> Found | None:
    for hasher in ctx.older_hashers:
        digest = hasher.hash(plaintext)
        found = await find(digest)
        if found is None:
            continue
        newest = ctx.hasher
        if hasher.version < newest.version:  # never backwards (a node not yet switched)
            try:
                await rehash(found.id, digest, newest.stored(plaintext))
            except (StoreUnavailable, Conflict) as exc:  # left for its next verification
                log.warning("could not re-hash %s to version %d: %s", found.id, newest.version, exc)
        return found
    return None


__all__ = [
    "find_key_any_version",
    "find_key_under_older",
    "find_root_key_any_version",
    "find_root_key_under_older",
]
