"""Leaked root keys: a workspace's management credential seen in public.

A root key is the worst leak of all, and it has no leak policy, grace period or
replacement: a leak revokes it at once through ``RootKeyService.revoke``, which
writes the ``root_key.revoke`` audit entry and drops the key from every node's
cache. Its leak row holds the root key's id (``rk_...``) as ``key_id``, which no
API key's id can be. No incident is opened and no webhook event is sent (no
event type names a root key); the exposure analysis reads API keys' usage and
has nothing to say of a root key, so it is skipped.
"""

from __future__ import annotations

from collections.abc import Callable

from keystead.core import keyformat
from keystead.core.authz import Principal
from keystead.core.models import RootKey
from keystead.core.permissions import GrantSet
from keystead.errors import NotFound
from keystead.service.context import ServiceContext
from keystead.service.root_keys import ROOT_PREFIX, RootKeyService
from keystead.service.secret_lookup import find_root_key_any_version
from keystead.store.leaks import LeakRecord


def is_root_token(token: str) -> bool:
    """A well-formed root key (``ksroot_...``: no API may take that prefix)."""
    return token.startswith(ROOT_PREFIX + "_") and keyformat.is_well_formed(token)


async def find_root_key(ctx: ServiceContext, token: str) -> RootKey | None:
    return await find_root_key_any_version(ctx, token)


def revocable_by(principal: Principal) -> Callable[[RootKey], bool]:
    """The root keys a reporter may act on: those it could revoke itself
    (``root_keys.revoke``, within its own scope, as ``RootKeyService.revoke``
    allows), in its own workspace. Any other is ``unknown``."""
    may = principal.grants.covers("root_keys.revoke")

    def visible(root_key: RootKey) -> bool:
        return (
            may
            and root_key.workspace_id == principal.workspace_id
            and principal.encloses(root_key.permissions, root_key.api_ids, root_key.owner_id)
        )

    return visible


async def revoke_leaked(
    ctx: ServiceContext, root_keys: RootKeyService, root_key: RootKey, leak: LeakRecord
) -> LeakRecord:
    """Revoke the root key by the leak's reporter and close its claimed leak."""
    actor = Principal(
        workspace_id=root_key.workspace_id,
        actor=leak.reported_by or f"leak:{leak.source}",
        grants=GrantSet(["*"]),
    )
    await root_keys.revoke(actor, root_key.id)
    finished = await ctx.store.finish_leak(root_key.workspace_id, leak.id, {"outcome": "revoked"})
    if finished is None:
        raise NotFound(f"no leak '{leak.id}'")
    return finished


__all__ = ["find_root_key", "is_root_token", "revocable_by", "revoke_leaked"]
