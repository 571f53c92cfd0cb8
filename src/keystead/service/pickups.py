"""Pickups: a rotated key held for its owner, handed out once, then erased.

Who may claim (docs/lifecycle.md, "Getting a new key to its owner"):

* a pickup of a key with an owner: only a root key narrowed to that owner
  (``root_keys create --owner``), which is what an owner's own automation
  holds. A workspace-wide root key sees it listed but may not claim it: the
  key is the owner's, not the operator's.
* a pickup of a key without an owner: only a workspace-wide root key (no
  owner scope).

Every claimer needs ``keys.pickup`` and must see the key's API. A claim
succeeds once; the ciphertext is erased in the same transaction.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from keystead.core.authz import Principal
from keystead.core.ids import looks_like_id
from keystead.core.models import Page, Pickup
from keystead.errors import Conflict, Forbidden, KeysteadError, NotFound
from keystead.service import fields
from keystead.service.context import ServiceContext
from keystead.service.custody import JWE, Custody
from keystead.store.custody import Scope


class Gone(KeysteadError):
    """The pickup expired: its ciphertext is erased; rotate the key again."""

    status = 410
    title = "Gone"


class CustodyFault(KeysteadError):
    """A sealed pickup that does not open: a server-side fault, never the caller's."""

    title = "Pickup unreadable"


@dataclass(slots=True, frozen=True)
class ClaimedKey:
    """The one answer that reveals a held key: ``key`` (sealed: the plaintext)
    or ``jwe`` (encrypted to the owner's public key)."""

    pickup: Pickup
    key: str | None = field(default=None, repr=False)
    jwe: str | None = None


def scope_of(principal: Principal) -> Scope:
    return Scope(api_ids=principal.api_ids, owner_id=principal.owner_id)


class PickupService:
    def __init__(self, ctx: ServiceContext, custody: Custody) -> None:
        self._ctx = ctx
        self._custody = custody

    async def list(
        self, principal: Principal, *, cursor: str | None = None, limit: int = 100
    ) -> Page:
        """Metadata only (never a ciphertext), oldest first. A root key narrowed
        to an owner sees that owner's pickups."""
        principal.require("keys.pickup")
        after = fields.page_cursor("pck", cursor)
        fields.page_size(limit)
        found = await self._ctx.store.list_pickups(
            principal.workspace_id, scope_of(principal), after=after, limit=limit + 1
        )
        items = found[:limit]
        return Page(items=items, next_cursor=items[-1].id if len(found) > limit else None)

    async def claim(self, principal: Principal, pickup_id: str) -> ClaimedKey:
        """Hand the held key out, once. 404 unknown (or not the caller's to
        see), 403 an owner's pickup to a root key without that owner's scope,
        409 claimed already, 410 expired."""
        principal.require("keys.pickup")
        pickup = await self._visible(principal, pickup_id)
        if principal.owner_id is None and pickup.owner_id is not None:
            raise Forbidden(
                f"this pickup belongs to owner '{pickup.owner_id}': claim it with a root key "
                "narrowed to that owner (root_keys create with owner_id)"
            )
        if pickup.claimed_at is not None:
            raise Conflict(f"pickup '{pickup.id}' was claimed already; it is handed out once")
        self._ctx.audit(
            principal, "pickup.claim", "pickup", pickup.id, after={"claimed_by": principal.actor}
        )
        claim = await self._ctx.store.claim_pickup(
            principal.workspace_id, pickup.id, principal.actor, self._ctx.now()
        )
        if claim.status == "missing" or claim.pickup is None:
            raise NotFound(f"no pickup '{pickup.id}'")
        if claim.status == "taken":
            raise Conflict(f"pickup '{pickup.id}' was claimed already; it is handed out once")
        if claim.status == "expired" or claim.ciphertext is None:
            raise Gone(f"pickup '{pickup.id}' expired and was erased; rotate the key again")
        if claim.pickup.format == JWE:
            return ClaimedKey(claim.pickup, jwe=claim.ciphertext.decode("ascii"))
        try:
            plaintext = self._custody.open_sealed(
                claim.pickup.workspace_id, claim.pickup.id, claim.ciphertext
            )
        except ValueError:
            raise CustodyFault(f"pickup '{pickup.id}' could not be opened") from None
        return ClaimedKey(claim.pickup, key=plaintext)

    async def purge_expired(self) -> int:
        """Erase the ciphertext of every expired, unclaimed pickup (the
        scheduler calls this). Returns how many were erased."""
        return await self._ctx.store.purge_pickups(self._ctx.now())

    async def _visible(self, principal: Principal, pickup_id: str) -> Pickup:
        pickup = None
        if isinstance(pickup_id, str) and looks_like_id("pck", pickup_id):
            pickup = await self._ctx.store.get_pickup(principal.workspace_id, pickup_id)
        if pickup is not None and principal.owner_id is not None:
            if pickup.owner_id is None or not hmac.compare_digest(
                pickup.owner_id.encode(), principal.owner_id.encode()
            ):
                pickup = None
        if pickup is not None and principal.api_ids is not None:
            key = await self._ctx.store.get_key(principal.workspace_id, pickup.key_id)
            if key is None or not principal.sees_api(key.api_id):
                pickup = None
        if pickup is None:
            raise NotFound(f"no pickup '{pickup_id}'")
        return pickup


__all__ = [
    "ClaimedKey",
    "CustodyFault",
    "Gone",
    "PickupService",
    "scope_of",
]
