"""The key list's filters, checked: what ``keys.list`` (``GET /v1/keys``, the
dashboard's key list, the SDK and CLI) hands the store."""

from __future__ import annotations

from typing import get_args

from keystead.core.authz import Principal
from keystead.core.ids import looks_like_id
from keystead.core.models import KeyState
from keystead.errors import ValidationError
from keystead.service import fields
from keystead.store.base import KeyFilter

STATES = frozenset(get_args(KeyState))


def key_filter(
    principal: Principal,
    *,
    api_id: str | None,
    owner_id: str | None,
    state: KeyState | None,
    plan_id: str | None,
    environment: str | None,
    search: str | None,
) -> KeyFilter | None:
    """The filter, each field checked (ValidationError naming it); None when the
    principal, narrowed to one owner, asks for another's keys (an empty page).
    ``api_id`` is the caller's to check for visibility."""
    if state is not None and state not in STATES:
        raise ValidationError(f"state is one of {', '.join(sorted(STATES))}", field="state")
    owner_id = fields.text(owner_id, "owner_id")
    if plan_id is not None and (not isinstance(plan_id, str) or not looks_like_id("plan", plan_id)):
        raise ValidationError("plan_id is a plan's id (plan_...)", field="plan_id")
    if principal.owner_id is not None:
        if owner_id not in (None, principal.owner_id):
            return None
        owner_id = principal.owner_id
    return KeyFilter(
        api_id=api_id,
        api_ids=principal.api_ids,
        owner_id=owner_id,
        state=state,
        plan_id=plan_id,
        environment=fields.environment(environment),
        search=fields.text(search, "search"),
    )


__all__ = ["STATES", "key_filter"]
