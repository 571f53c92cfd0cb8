"""Keys a customer creates in the portal, within the limits the provider set.

A portal principal may call ``keys.create`` like any other, but the portal
pages create keys through ``create_portal_key``: it applies the workspace's
portal ``key_defaults`` (the provider's, which the customer cannot override) and
refuses a key beyond ``max_keys_per_owner`` (keys neither revoked nor expired),
counted in the transaction that stores the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from keystead.core.authz import Principal
from keystead.core.models import CreatedKey
from keystead.errors import Forbidden, ValidationError
from keystead.service import fields
from keystead.service.context import ServiceContext
from keystead.service.keys import KeyService
from keystead.service.portal_fields import Branding

CUSTOMER_FIELDS = frozenset({"api_id", "name"})
"""What the customer chooses; everything else comes from the provider's defaults."""


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
    defaults = dict(branding.key_defaults)
    made: dict[str, Any] = {k: v for k, v in defaults.items() if k != "expires_in_s"}
    if "expires_in_s" in defaults:
        made["expires_at"] = ctx.now() + timedelta(seconds=int(defaults["expires_in_s"]))
    made.update({k: spec[k] for k in CUSTOMER_FIELDS if k in spec})
    made["owner_id"] = owner_id
    created = await keys.create_many(principal, [made], owner_cap=branding.max_keys_per_owner)
    return created[0]


__all__ = ["CUSTOMER_FIELDS", "create_portal_key"]
