"""``/v1/apis``: APIs (a product's key space) and their roles (named permission sets)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response
from pydantic import AfterValidator

from keystead.http.auth import Auth, Service
from keystead.http.limit_schemas import ApiUpdate
from keystead.http.openapi import CONFLICT, FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import ApiCreate, ObjectId, RoleName, RolePut, changes
from keystead.http.views import ApiList, ApiOut, RoleList, RoleOut, api_out, role_out
from keystead.service.fields import ROLE_RE, ROLE_RULE

router = make_router(prefix="/v1/apis", tags=["apis"])

ApiId = Annotated[ObjectId, Path(description="the API's id (api_...)")]


def _role_name(name: str) -> str:
    if ROLE_RE.fullmatch(name) is None:
        raise ValueError(ROLE_RULE)
    return name


RolePath = Annotated[
    RoleName,
    AfterValidator(_role_name),
    Path(
        description="role name: A-Z a-z 0-9 _ . : -",
        json_schema_extra={"pattern": f"^{ROLE_RE.pattern}$"},
    ),
]


@router.post("", status_code=201, summary="Create an API", responses={**WITH_BODY, **CONFLICT})
async def create_api(body: ApiCreate, ks: Service, principal: Auth) -> ApiOut:
    """Needs ``apis.create``. ``prefix`` defaults to ``ks``."""
    limits = changes(body.limits) if body.limits is not None else None
    api = await ks.apis.create(
        principal,
        name=body.name,
        prefix=body.prefix,
        key_defaults=body.key_defaults,
        limits=limits,
        rotation_policy=None if body.rotation_policy is None else changes(body.rotation_policy),
    )
    return api_out(api)


@router.get("", summary="List APIs")
async def list_apis(ks: Service, principal: Auth) -> ApiList:
    """Needs ``apis.read``; a root key narrowed to some APIs sees only those."""
    return ApiList(items=[api_out(api) for api in await ks.apis.list(principal)])


@router.get("/{api_id}", summary="Get an API", responses=FOUND)
async def get_api(api_id: ApiId, ks: Service, principal: Auth) -> ApiOut:
    """Needs ``apis.read``."""
    return api_out(await ks.apis.get(principal, api_id))


@router.patch("/{api_id}", summary="Update an API", responses={**WITH_BODY, **FOUND, **CONFLICT})
async def update_api(api_id: ApiId, body: ApiUpdate, ks: Service, principal: Auth) -> ApiOut:
    """Needs ``apis.update``. Partial: ``name``, ``key_defaults``, ``limits`` (replaced
    whole; ``null`` restores the defaults). The API's keys see the change at once."""
    return api_out(await ks.apis.update(principal, api_id, changes(body)))


@router.delete(
    "/{api_id}", status_code=204, summary="Delete an API", responses={**FOUND, **CONFLICT}
)
async def delete_api(api_id: ApiId, ks: Service, principal: Auth) -> Response:
    """Needs ``apis.delete``. 409 while the API still has keys."""
    await ks.apis.delete(principal, api_id)
    return Response(status_code=204)


@router.put(
    "/{api_id}/roles/{name}",
    summary="Create or replace a role",
    responses={**WITH_BODY, **FOUND},
)
async def put_role(
    api_id: ApiId, name: RolePath, body: RolePut, ks: Service, principal: Auth
) -> RoleOut:
    """Needs ``roles.write``. Keys holding the role get its new permissions at once."""
    role = await ks.apis.put_role(
        principal, api_id, name, body.permissions, description=body.description
    )
    return role_out(role)


@router.get("/{api_id}/roles", summary="List the roles of an API", responses=FOUND)
async def list_roles(api_id: ApiId, ks: Service, principal: Auth) -> RoleList:
    """Needs ``roles.read``."""
    return RoleList(items=[role_out(role) for role in await ks.apis.list_roles(principal, api_id)])


@router.delete("/{api_id}/roles/{name}", status_code=204, summary="Delete a role", responses=FOUND)
async def delete_role(api_id: ApiId, name: RolePath, ks: Service, principal: Auth) -> Response:
    """Needs ``roles.write``."""
    await ks.apis.delete_role(principal, api_id, name)
    return Response(status_code=204)
