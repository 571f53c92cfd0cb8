"""``/v1/owners``: limits shared by every key with one ``owner_id`` in the workspace.

``owner_id`` is your own string (the keys' ``owner_id``), percent-encoded in the
path: ``/v1/owners/team%2Feng`` names the owner ``team/eng``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response
from starlette.convertors import PathConvertor, register_url_convertor

from keystead.http.auth import Auth, Service
from keystead.http.custody_schemas import PublicKeyPut
from keystead.http.custody_views import OwnerKeyList, OwnerKeyOut, owner_key_out
from keystead.http.limit_schemas import OwnerPut
from keystead.http.openapi import FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import Text, changes

router = make_router(prefix="/v1/owners", tags=["owners"])


class _AnyText(PathConvertor):
    """Any text, ``/`` and line breaks included (``path``'s ``.*`` stops at a line
    break, and an owner id holding one would match no route: a 404)."""

    regex = r"(?s:.*)"


register_url_convertor("text", _AnyText())

OwnerId = Annotated[Text, Path(description="the owner's id: 1 to 200 characters, percent-encoded")]


# before the {owner_id} routes, which would otherwise take ".../public_key" as an owner id
@router.put("/{owner_id:text}/public_key", summary="Set an owner's public key", responses=WITH_BODY)
async def put_public_key(
    owner_id: OwnerId, body: PublicKeyPut, ks: Service, principal: Auth
) -> OwnerKeyOut:
    """Needs ``owners.write``. A public JWK (EC P-256/P-384/P-521 or OKP X25519) that
    keys rotated with nobody present are encrypted to (ECDH-ES+A256KW, A256GCM):
    the owner decrypts them, the server cannot. 422 for a private key or another
    type or curve. The owner's limits are kept."""
    return owner_key_out(await ks.owners.set_public_key(principal, owner_id, body.jwk))


@router.delete(
    "/{owner_id:text}/public_key", summary="Remove an owner's public key", responses=FOUND
)
async def delete_public_key(owner_id: OwnerId, ks: Service, principal: Auth) -> OwnerKeyOut:
    """Needs ``owners.write``. Later pickups for this owner are sealed instead."""
    return owner_key_out(await ks.owners.remove_public_key(principal, owner_id))


@router.put("/{owner_id:text}", summary="Set an owner's limits", responses=WITH_BODY)
async def put_owner(owner_id: OwnerId, body: OwnerPut, ks: Service, principal: Auth) -> OwnerKeyOut:
    """Needs ``owners.write``. Replaces the owner's whole limit set; the counters are
    shared by all the owner's keys and kept across changes."""
    limits = {name: value for name, value in changes(body).items() if value is not None}
    return owner_key_out(await ks.owners.put(principal, owner_id, **limits))


@router.get("", summary="List owners with limits")
async def list_owners(ks: Service, principal: Auth) -> OwnerKeyList:
    """Needs ``owners.read``."""
    return OwnerKeyList(items=[owner_key_out(owner) for owner in await ks.owners.list(principal)])


@router.get("/{owner_id:text}", summary="Get an owner's limits", responses=FOUND)
async def get_owner(owner_id: OwnerId, ks: Service, principal: Auth) -> OwnerKeyOut:
    """Needs ``owners.read``. 404 when neither limits nor a public key are set for the
    owner. ``public_jwk`` is the public key (never anything private)."""
    return owner_key_out(await ks.owners.get(principal, owner_id))


@router.delete(
    "/{owner_id:text}", status_code=204, summary="Remove an owner's limits", responses=FOUND
)
async def delete_owner(owner_id: OwnerId, ks: Service, principal: Auth) -> Response:
    """Needs ``owners.write``. The owner's keys keep their own limits."""
    await ks.owners.delete(principal, owner_id)
    return Response(status_code=204)


__all__ = ["router"]
