"""``/v1/owners``: limits shared by every key with one ``owner_id`` in the workspace.

``owner_id`` is your own string (the keys' ``owner_id``), percent-encoded in the
path: ``/v1/owners/team%2Feng`` names the owner ``team/eng``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from keystead.http.auth import Auth, Service
from keystead.http.limit_schemas import OwnerPut
from keystead.http.limit_views import OwnerList, OwnerOut, owner_out
from keystead.http.openapi import FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import Text, changes

router = make_router(prefix="/v1/owners", tags=["owners"])

OwnerId = Annotated[Text, Path(description="the owner's id: 1 to 200 characters, percent-encoded")]


@router.put("/{owner_id:path}", summary="Set an owner's limits", responses=WITH_BODY)
async def put_owner(owner_id: OwnerId, body: OwnerPut, ks: Service, principal: Auth) -> OwnerOut:
    """Needs ``owners.write``. Replaces the owner's whole limit set; the counters are
    shared by all the owner's keys and kept across changes."""
    limits = {name: value for name, value in changes(body).items() if value is not None}
    return owner_out(await ks.owners.put(principal, owner_id, **limits))


@router.get("", summary="List owners with limits")
async def list_owners(ks: Service, principal: Auth) -> OwnerList:
    """Needs ``owners.read``."""
    return OwnerList(items=[owner_out(owner) for owner in await ks.owners.list(principal)])


@router.get("/{owner_id:path}", summary="Get an owner's limits", responses=FOUND)
async def get_owner(owner_id: OwnerId, ks: Service, principal: Auth) -> OwnerOut:
    """Needs ``owners.read``. 404 when no limits are set for the owner."""
    return owner_out(await ks.owners.get(principal, owner_id))


@router.delete(
    "/{owner_id:path}", status_code=204, summary="Remove an owner's limits", responses=FOUND
)
async def delete_owner(owner_id: OwnerId, ks: Service, principal: Auth) -> Response:
    """Needs ``owners.write``. The owner's keys keep their own limits."""
    await ks.owners.delete(principal, owner_id)
    return Response(status_code=204)


__all__ = ["router"]
