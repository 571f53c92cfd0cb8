"""Keys a customer creates in the portal, within the limits the provider set.

A portal principal may call ``keys.create`` like any other, but the portal
pages create keys through ``create_portal_key``: it applies the workspace's
portal ``key_defaults`` (the provider's, which the customer cannot override) and
refuses a key beyond ``max_keys_per_owner`` (keys neither revoked nor expired).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from keystead.core.authz import Principal
from keystead.core.models import CreatedKey, Key
from keystead.errors import Conflict, Forbidden, ValidationError
from keystead.service import fields
from keystead.service.context import ServiceContext
from keystead.service.keys import KeyService
from keystead.service.portal_fields import Branding
from keystead.store.base import KeyFilter

CUSTOMER_FIELDS = frozenset({"api_id", "name"})
"""What the customer chooses; everything else comes from the provider's defaults."""
_PAGE = 500


async def create_portal_key(
    ctx: ServiceContext,
    keys: KeyService,
    branding: Branding,
    principal: Principal,
    spec: Mapping[str, Any],
) -> CreatedKey:
    owner_id = principal.owner_id
    if owner_id is None:
        raise Forbidden("portal keys are created by a principal narrowed to one owner")
    principal.require("keys.create")
    if not isinstance(spec, Mapping):
        raise ValidationError("the key is a JSON object", field="key")
    fields.unknown(spec, CUSTOMER_FIELDS, "portal key")
    limit = branding.max_keys_per_owner
    if limit is not None:
        held = await _live_keys(ctx, principal, owner_id, limit)
        if held >= limit:
            raise Conflict(f"this account holds {held} keys, the most allowed here")
    defaults = dict(branding.key_defaults)
    made: dict[str, Any] = {k: v for k, v in defaults.items() if k != "expires_in_s"}
    if "expires_in_s" in defaults:
        made["expires_at"] = ctx.now() + timedelta(seconds=int(defaults["expires_in_s"]))
    made.update({k: spec[k] for k in CUSTOMER_FIELDS if k in spec})
    made["owner_id"] = owner_id
    return await keys.create(principal, made)


async def _live_keys(ctx: ServiceContext, principal: Principal, owner_id: str, enough: int) -> int:
    """The owner's keys neither revoked nor expired, counted up to ``enough``."""
    now = ctx.now()
    where = KeyFilter(owner_id=owner_id)
    count, after = 0, None
    while True:
        page = await ctx.store.list_keys(
            principal.workspace_id, where, after=after, limit=_PAGE, now=now
        )
        count += sum(1 for key in page if _live(key, now))
        if count >= enough or len(page) < _PAGE:
            return count
        after = page[-1].id


def _live(key: Key, now: datetime) -> bool:
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > now)


__all__ = ["CUSTOMER_FIELDS", "create_portal_key"]
