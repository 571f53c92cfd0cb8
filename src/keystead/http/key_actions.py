"""``/v1/keys/{key_id}/actions``: act on a key because of an event, and the record.

One door for every event source (a monitoring alert, a leak report, an
operator): ``disable``, ``rotate``, ``emergency_rotate`` or ``revoke``, with the
cause. A rotation here holds the new key in a pickup for its owner.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from keystead.http.auth import Auth, Service
from keystead.http.custody_schemas import ActionIn
from keystead.http.custody_views import (
    ActionResultOut,
    KeyActionPage,
    action_result_out,
    key_action_out,
)
from keystead.http.fieldtypes import PageSize
from keystead.http.openapi import CONFLICT, FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import ObjectId

router = make_router(prefix="/v1/keys", tags=["key actions"])

KeyId = Annotated[ObjectId, Path(description="the key's id (key_...)")]


@router.post(
    "/{key_id}/actions",
    status_code=201,
    summary="Act on a key (event-triggered)",
    responses={**WITH_BODY, **FOUND, **CONFLICT},
)
async def act_on_key(
    key_id: KeyId, body: ActionIn, ks: Service, principal: Auth
) -> ActionResultOut:
    """Needs the action's permission: ``keys.update`` (disable), ``keys.rotate``
    (rotate, emergency_rotate) or ``keys.revoke`` (revoke). The answer is the
    recorded action; a rotation's ``result`` names the new key and its pickup."""
    result = await ks.actions.apply(
        principal,
        key_id,
        body.action,
        body.cause.model_dump(),
        grace_period_s=body.grace_period_s,
    )
    return action_result_out(result, ks.clock.now())


@router.get("/{key_id}/actions", summary="List a key's recorded actions", responses=FOUND)
async def list_key_actions(
    key_id: KeyId,
    ks: Service,
    principal: Auth,
    cursor: Annotated[
        ObjectId | None, Query(description="next_cursor of the previous page")
    ] = None,
    limit: PageSize = 100,
) -> KeyActionPage:
    """Needs ``keys.read``. Oldest first."""
    page = await ks.actions.list(principal, key_id, cursor=cursor, limit=limit)
    return KeyActionPage(
        items=[key_action_out(a) for a in page.items], next_cursor=page.next_cursor
    )


__all__ = ["router"]
