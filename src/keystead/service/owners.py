"""Owner limits: counters shared by every key with one ``owner_id`` in a workspace."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from keystead.core.authz import Principal
from keystead.core.models import Owner, Page
from keystead.errors import NotFound
from keystead.service import fields, limit_fields
from keystead.service.context import ServiceContext
from keystead.service.custody import public_jwk


@dataclass(slots=True, frozen=True)
class OwnerRow:
    """One owner of the workspace: an id that keys carry, limits set for it, or both."""

    owner_id: str
    keys_held: int
    """Its keys not revoked."""
    owner: Owner | None
    """Its limits and public key, when any were set."""


class OwnerService:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def put(
        self,
        principal: Principal,
        owner_id: str,
        *,
        ratelimits: Sequence[Mapping[str, Any]] | None = (),
        quota: Mapping[str, Any] | None = None,
        credits: Mapping[str, Any] | None = None,
        concurrency: Mapping[str, Any] | None = None,
    ) -> Owner:
        """Set (replace) the owner's limit set."""
        principal.require("owners.write")
        checked = _visible(principal, fields.required_text(owner_id, "owner_id"))
        limits = limit_fields.from_arguments(ratelimits, quota, credits, concurrency)
        now = self._ctx.now()
        old = await self._ctx.store.get_owner(principal.workspace_id, checked)
        after = {"limits": limits} if old is not None else {"owner_id": checked, "limits": limits}
        before = None if old is None else {"limits": old.limits}
        self._ctx.audit(principal, "owner.put", "owner", checked, before=before, after=after)
        owner = await self._ctx.store.put_owner(
            Owner(principal.workspace_id, checked, limits, created_at=now, updated_at=now)
        )
        self._ctx.owner_changed(principal.workspace_id, checked)
        return owner

    async def get(self, principal: Principal, owner_id: str) -> Owner:
        principal.require("owners.read")
        owner = None
        if isinstance(owner_id, str) and principal.sees_whole_owner(owner_id):
            owner = await self._ctx.store.get_owner(principal.workspace_id, owner_id)
        if owner is None:
            raise NotFound(f"no limits are set for owner '{owner_id}'")
        return owner

    async def list(self, principal: Principal) -> list[Owner]:
        principal.require("owners.read")
        found = await self._ctx.store.list_owners(principal.workspace_id)
        return [o for o in found if principal.sees_whole_owner(o.owner_id)]

    async def overview(
        self, principal: Principal, *, cursor: str | None = None, limit: int = 100
    ) -> Page:
        """Every owner, by id: those whose keys carry the id and those with limits
        set, merged (``OwnerRow`` items; ``cursor`` is the last id of a page).
        A root key narrowed to APIs sees none (``sees_whole_owner``)."""
        principal.require("owners.read")
        fields.page_size(limit)
        after = fields.text(cursor, "cursor")
        if principal.api_ids is not None:
            return Page(items=[], next_cursor=None)
        workspace = principal.workspace_id
        holders = dict(
            await self._ctx.store.list_key_holders(
                workspace, after=after, limit=limit + 1, only=principal.owner_id
            )
        )
        limited = {
            o.owner_id: o
            for o in await self._ctx.store.list_owners(workspace)
            if (after is None or o.owner_id > after) and principal.sees_whole_owner(o.owner_id)
        }
        # each source holds every id up to its own last, so the first limit + 1 of
        # the union are exact; an id missing from the holders there holds no key
        ids = sorted(holders.keys() | limited.keys())[: limit + 1]
        rows = [OwnerRow(i, holders.get(i, 0), limited.get(i)) for i in ids[:limit]]
        return Page(items=rows, next_cursor=rows[-1].owner_id if len(ids) > limit else None)

    async def set_public_key(
        self, principal: Principal, owner_id: str, jwk: Mapping[str, Any]
    ) -> Owner:
        """Register the public JWK (EC P-256/384/521 or X25519) that keys rotated
        without a person present are encrypted to (docs/lifecycle.md). Creates
        the owner, with no limits, if need be; its limits are kept."""
        principal.require("owners.write")
        checked = _visible(principal, fields.required_text(owner_id, "owner_id"))
        key = public_jwk(jwk)
        old = await self._ctx.store.get_owner(principal.workspace_id, checked)
        self._ctx.audit(
            principal,
            "owner.set_public_key",
            "owner",
            checked,
            before={"public_jwk": None if old is None else old.public_jwk},
            after={"public_jwk": key},
        )
        owner = await self._ctx.store.set_owner_public_jwk(
            principal.workspace_id, checked, key, self._ctx.now()
        )
        if owner is None:  # pragma: no cover - setting always leaves an owner
            raise NotFound(f"no owner '{checked}'")
        return owner

    async def remove_public_key(self, principal: Principal, owner_id: str) -> Owner:
        """Forget the owner's public key: later pickups are sealed instead."""
        principal.require("owners.write")
        owner = None
        old = None
        if isinstance(owner_id, str) and principal.sees_whole_owner(owner_id):
            old = await self._ctx.store.get_owner(principal.workspace_id, owner_id)
        if old is not None:
            self._ctx.audit(
                principal,
                "owner.remove_public_key",
                "owner",
                old.owner_id,
                before={"public_jwk": old.public_jwk},
                after={"public_jwk": None},
            )
            owner = await self._ctx.store.set_owner_public_jwk(
                principal.workspace_id, owner_id, None, self._ctx.now()
            )
        if owner is None:
            raise NotFound(f"no owner '{owner_id}'")
        return owner

    async def delete(self, principal: Principal, owner_id: str) -> None:
        principal.require("owners.write")
        old = None
        if isinstance(owner_id, str) and principal.sees_whole_owner(owner_id):
            old = await self._ctx.store.get_owner(principal.workspace_id, owner_id)
        if old is not None:
            self._ctx.audit(principal, "owner.delete", "owner", old.owner_id, before=old)
        if old is None or not await self._ctx.store.delete_owner(principal.workspace_id, owner_id):
            raise NotFound(f"no limits are set for owner '{owner_id}'")
        self._ctx.owner_changed(principal.workspace_id, owner_id)


def _visible(principal: Principal, owner_id: str) -> str:
    """``owner_id`` when the principal sees the whole owner (``sees_whole_owner``);
    NotFound otherwise, as for an owner of another workspace."""
    if not principal.sees_whole_owner(owner_id):
        raise NotFound(f"no owner '{owner_id}'")
    return owner_id
