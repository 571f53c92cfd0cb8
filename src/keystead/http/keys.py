"""``/v1/keys``: issue, read, list, update, enable/disable, revoke and delete keys.

Only the two creation routes ever answer with the plaintext ``key``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Response

from keystead.http.auth import Auth, Service
from keystead.http.fieldtypes import Environment, PageSize
from keystead.http.openapi import CONFLICT, FOUND, WITH_BODY
from keystead.http.rotation_schemas import (
    DueKeyList,
    DueKeyOut,
    RotatedKeyOut,
    RotateDueIn,
    RotateIn,
)
from keystead.http.routing import router as make_router
from keystead.http.schemas import (
    KeyBatch,
    KeyCreate,
    KeyStateName,
    KeyUpdate,
    ObjectId,
    Text,
    changes,
)
from keystead.http.views import (
    CreatedKeyList,
    CreatedKeyOut,
    KeyDetailOut,
    KeyOut,
    KeyPage,
    created_key_out,
    key_detail_out,
    key_out,
)

router = make_router(prefix="/v1/keys", tags=["keys"])

KeyId = Annotated[ObjectId, Path(description="the key's id (key_...)")]


@router.post(
    "", status_code=201, summary="Create a key", responses={**WITH_BODY, **FOUND, **CONFLICT}
)
async def create_key(body: KeyCreate, ks: Service, principal: Auth) -> CreatedKeyOut:
    """Needs ``keys.create``. The answer holds the plaintext ``key``: store it now, it is
    never shown again. Omitted fields take the API's ``key_defaults``."""
    created = await ks.keys.create(principal, changes(body))
    return created_key_out(created, ks.clock.now())


@router.post(
    "/batch",
    status_code=201,
    summary="Create up to 1000 keys at once",
    responses={**WITH_BODY, **FOUND, **CONFLICT},
)
async def create_keys(body: KeyBatch, ks: Service, principal: Auth) -> CreatedKeyList:
    """Needs ``keys.create``. All or nothing: one invalid spec and no key is created."""
    created = await ks.keys.create_many(principal, [changes(spec) for spec in body.keys])
    now = ks.clock.now()
    return CreatedKeyList(items=[created_key_out(c, now) for c in created])


@router.post(
    "/rotate_due",
    summary="Rotate every key its rotation policy says is due",
    responses=WITH_BODY,
)
async def rotate_due(body: RotateDueIn, ks: Service, principal: Auth) -> DueKeyList:
    """Needs ``keys.rotate`` (``keys.read`` for ``dry_run``). The scheduler does this on
    its own; this runs it now for the caller's workspace. New keys go to pickups for
    their owners (and to owners' public keys as JWE), never into this answer."""
    if body.dry_run:
        found = await ks.scheduler.due(principal)
    else:
        found = await ks.scheduler.rotate_due(principal)
    return DueKeyList(
        dry_run=body.dry_run,
        items=[
            DueKeyOut(
                key_id=d.candidate.key.id,
                start=d.candidate.key.start,
                api_id=d.candidate.key.api_id,
                owner_id=d.candidate.key.owner_id,
                due_at=d.due_at,
                new_key_id=d.new_key_id,
                pickup_id=d.pickup_id,
            )
            for d in found
        ],
    )


@router.get("", summary="List keys", responses=FOUND)
async def list_keys(
    ks: Service,
    principal: Auth,
    api_id: Annotated[ObjectId | None, Query(description="only keys of this API")] = None,
    owner_id: Annotated[Text | None, Query(description="only keys of this owner")] = None,
    state: Annotated[KeyStateName | None, Query(description="only keys in this state")] = None,
    plan_id: Annotated[ObjectId | None, Query(description="only keys on this plan")] = None,
    environment: Annotated[
        Environment | None, Query(description="only keys of this environment")
    ] = None,
    q: Annotated[
        Text | None,
        Query(description="name contains it (any case), or owner id or start begins with it"),
    ] = None,
    cursor: Annotated[
        ObjectId | None, Query(description="next_cursor of the previous page")
    ] = None,
    limit: PageSize = 100,
) -> KeyPage:
    """Needs ``keys.read``. Oldest first; follow ``next_cursor`` until it is ``null``."""
    page = await ks.keys.list(
        principal,
        api_id=api_id,
        owner_id=owner_id,
        state=state,
        plan_id=plan_id,
        environment=environment,
        search=q,
        cursor=cursor,
        limit=limit,
    )
    now = ks.clock.now()
    return KeyPage(items=[key_out(key, now) for key in page.items], next_cursor=page.next_cursor)


@router.get("/{key_id}", summary="Get a key", responses=FOUND)
async def get_key(key_id: KeyId, ks: Service, principal: Auth) -> KeyDetailOut:
    """Needs ``keys.read``. Adds ``credits_remaining``, the live credit balance."""
    key = await ks.keys.get(principal, key_id)
    credits = await ks.keys.credits(principal, key_id)
    return key_detail_out(key, ks.clock.now(), credits)


@router.patch("/{key_id}", summary="Update a key", responses={**WITH_BODY, **FOUND, **CONFLICT})
async def update_key(key_id: KeyId, body: KeyUpdate, ks: Service, principal: Auth) -> KeyOut:
    """Needs ``keys.update``. Partial: an omitted field is kept, ``null`` clears it.
    ``credits`` sets the live balance; ``reset_quota`` starts the quota count again."""
    key = await ks.keys.update(principal, key_id, changes(body))
    return key_out(key, ks.clock.now())


@router.post("/{key_id}/revoke", summary="Revoke a key (irreversible)", responses=FOUND)
async def revoke_key(key_id: KeyId, ks: Service, principal: Auth) -> KeyOut:
    """Needs ``keys.revoke``. Revoking a revoked key changes nothing."""
    return key_out(await ks.keys.revoke(principal, key_id), ks.clock.now())


@router.post("/{key_id}/disable", summary="Disable a key", responses=FOUND)
async def disable_key(key_id: KeyId, ks: Service, principal: Auth) -> KeyOut:
    """Needs ``keys.update``."""
    return key_out(await ks.keys.disable(principal, key_id), ks.clock.now())


@router.post("/{key_id}/enable", summary="Enable a disabled key", responses={**FOUND, **CONFLICT})
async def enable_key(key_id: KeyId, ks: Service, principal: Auth) -> KeyOut:
    """Needs ``keys.update``. 409 for a revoked key."""
    return key_out(await ks.keys.enable(principal, key_id), ks.clock.now())


@router.post(
    "/{key_id}/rotate",
    status_code=201,
    summary="Rotate a key: a successor now, the old key until its grace ends",
    responses={**WITH_BODY, **FOUND, **CONFLICT},
)
async def rotate_key(
    key_id: KeyId, ks: Service, principal: Auth, body: RotateIn | None = None
) -> RotatedKeyOut:
    """Needs ``keys.rotate``. The new key inherits the old one's API, owner, name, meta,
    permissions, roles, restrictions, plan, limits, policy and limit counters (credits,
    quotas and rate limits carry over). The plaintext ``key`` is shown this once. The old
    key verifies until ``grace_ends_at``, then answers EXPIRED with ``rotated_to``;
    ``grace_period_s: 0`` is an emergency rotation. 409 if the key was already rotated
    or is revoked."""
    body = body or RotateIn()
    rotation = await ks.rotation.rotate(
        principal,
        key_id,
        grace_period_s=body.grace_period_s,
        old_expires_at=body.old_expires_at,
    )
    now = ks.clock.now()
    created = created_key_out(rotation.new, now)
    return RotatedKeyOut(
        **created.model_dump(),
        grace_ends_at=rotation.grace_ends_at,
        old_key=key_out(rotation.old, now),
    )


@router.delete("/{key_id}", status_code=204, summary="Delete a key", responses=FOUND)
async def delete_key(key_id: KeyId, ks: Service, principal: Auth) -> Response:
    """Needs ``keys.delete``. Prefer revoking: a deleted key leaves no record."""
    await ks.keys.delete(principal, key_id)
    return Response(status_code=204)
