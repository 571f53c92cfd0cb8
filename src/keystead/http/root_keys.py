"""``/v1/root_keys``: the management credentials of a workspace."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from keystead.http.auth import Auth, Service
from keystead.http.openapi import FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import ObjectId, RootKeyCreate
from keystead.http.views import (
    CreatedRootKeyOut,
    RootKeyList,
    RootKeyOut,
    created_root_key_out,
    root_key_out,
)

router = make_router(prefix="/v1/root_keys", tags=["root keys"])

RootKeyId = Annotated[ObjectId, Path(description="the root key's id (rk_...)")]


@router.post("", status_code=201, summary="Create a root key", responses={**WITH_BODY, **FOUND})
async def create_root_key(body: RootKeyCreate, ks: Service, principal: Auth) -> CreatedRootKeyOut:
    """Needs ``root_keys.create``. A root key cannot grant more than its creator holds.
    ``owner_id`` narrows it to one owner's keys and pickups. The answer holds the
    plaintext ``key``, shown this once."""
    options: dict[str, Any] = {"name": body.name, "api_ids": body.api_ids}
    if body.owner_id is not None:
        options["owner_id"] = body.owner_id
    if body.permissions is not None:
        options["permissions"] = body.permissions
    created = await ks.root_keys.create(principal, **options)
    return created_root_key_out(created)


@router.get("", summary="List root keys")
async def list_root_keys(ks: Service, principal: Auth) -> RootKeyList:
    """Needs ``root_keys.read``. Revoked root keys are listed with their ``revoked_at``."""
    return RootKeyList(items=[root_key_out(rk) for rk in await ks.root_keys.list(principal)])


@router.post("/{root_key_id}/revoke", summary="Revoke a root key (irreversible)", responses=FOUND)
async def revoke_root_key(root_key_id: RootKeyId, ks: Service, principal: Auth) -> RootKeyOut:
    """Needs ``root_keys.revoke``. Takes effect at once on this node."""
    return root_key_out(await ks.root_keys.revoke(principal, root_key_id))
