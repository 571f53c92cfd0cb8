"""``/v1/portal``: one-time links into an owner's self-service portal, and the
portal's branding and limits per workspace."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictInt

from keystead.http.auth import Auth, Service
from keystead.http.fieldtypes import (
    MAX_LIST,
    JsonObject,
    NoNul,
    ObjectId,
    Permissions,
    RequestModel,
    Text,
)
from keystead.http.openapi import WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import changes
from keystead.http.views import iso
from keystead.service.portal_fields import Branding

router = make_router(prefix="/v1/portal", tags=["portal"])


class PortalSessionCreate(RequestModel):
    owner_id: Text = Field(description="the owner whose keys and usage the portal shows")
    permissions: Permissions | None = Field(
        default=None,
        description="what the customer may do; default keys.read, keys.create, keys.update, "
        "keys.rotate, keys.revoke, usage.read (those the caller holds); never more than the "
        "caller holds",
    )
    api_ids: Annotated[list[ObjectId], Field(min_length=1, max_length=MAX_LIST)] | None = Field(
        default=None, description="the APIs whose keys the portal shows; default: the caller's"
    )
    return_url: NoNul | None = Field(
        default=None, description="where the portal's 'back' link goes (http or https)"
    )


class PortalLinkOut(BaseModel):
    url: str = Field(description="the one-time link: give it to the customer, once")
    expires_at: str
    owner_id: str


class BrandingPut(RequestModel):
    name: NoNul | None = Field(default=None, description="shown in the portal's header")
    logo_url: NoNul | None = Field(default=None, description="an https URL of the logo")
    accent: NoNul | None = Field(default=None, description="the accent colour, #rrggbb")
    max_keys_per_owner: StrictInt | None = Field(
        default=None, description="keys one owner may hold through the portal; null: no bound"
    )
    key_defaults: JsonObject | None = Field(
        default=None,
        description="applied to keys created in the portal: expires_in_s, ratelimits, "
        "permissions, roles, meta, restrictions, environment",
    )


class BrandingOut(BaseModel):
    name: str
    logo_url: str | None
    accent: str
    max_keys_per_owner: int | None
    key_defaults: dict[str, Any]


def branding_out(branding: Branding) -> BrandingOut:
    return BrandingOut(**branding.as_dict())


@router.post(
    "/sessions", status_code=201, summary="Create a one-time portal link", responses=WITH_BODY
)
async def create_portal_session(
    body: PortalSessionCreate, ks: Service, principal: Auth
) -> PortalLinkOut:
    """Needs ``portal.create``. A link into ``owner_id``'s portal, redeemable once
    within ``KEYSTEAD_PORTAL_LINK_TTL_S`` (600 s); the customer sees only that
    owner's keys and usage. The link is shown this once and stored only hashed."""
    link = await ks.web_sessions.create_portal_link(
        principal,
        body.owner_id,
        permissions=body.permissions,
        api_ids=body.api_ids,
        return_url=body.return_url,
    )
    return PortalLinkOut(url=link.url, expires_at=iso(link.expires_at), owner_id=link.owner_id)


@router.get("/branding", summary="Get the portal's branding")
async def get_branding(ks: Service, principal: Auth) -> BrandingOut:
    """Needs ``portal.configure``: the defaults until set."""
    principal.require("portal.configure")
    return branding_out(await ks.web_sessions.branding(principal.workspace_id))


@router.put("/branding", summary="Change the portal's branding", responses=WITH_BODY)
async def put_branding(body: BrandingPut, ks: Service, principal: Auth) -> BrandingOut:
    """Needs ``portal.configure`` (a root key narrowed to neither APIs nor an owner).
    Changes the fields sent; ``null`` restores a field's default. 422 names a bad field."""
    return branding_out(await ks.web_sessions.set_branding(principal, changes(body)))
