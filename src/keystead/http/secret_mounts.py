"""``/v1/secret-mounts``: the mounts of stored secrets and their settings.

Apart from ``/v1/secrets/{mount}/...`` so that no mount name can collide with a
route. Reading, enabling and configuring a mount take ``secrets.admin`` over the
whole mount; listing answers the mounts the root key may list or administer.
"""

from __future__ import annotations

from typing import Any

from keystead.http.auth import Auth, Service
from keystead.http.openapi import CONFLICT, FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.secret_schemas import MountCreate, MountParam, MountSettings
from keystead.http.secret_views import MountList, MountOut, mount_out

router = make_router(prefix="/v1/secret-mounts", tags=["secrets"])


def settings_sent(body: MountSettings | None) -> dict[str, Any]:
    """The settings given (``null`` and omitted ones keep their values)."""
    if body is None:
        return {}
    sent = body.model_dump(exclude_unset=True)
    return {name: value for name, value in sent.items() if value is not None}


@router.get("", summary="List secret mounts")
async def list_secret_mounts(ks: Service, principal: Auth) -> MountList:
    """Needs ``secrets.list`` or ``secrets.admin`` on some scope; answers the mounts
    whose top the root key may list or administer (``secret`` always exists)."""
    return MountList(items=[mount_out(m) for m in await ks.secrets.list_mounts(principal)])


@router.post(
    "", status_code=201, summary="Enable a secret mount", responses={**WITH_BODY, **CONFLICT}
)
async def enable_secret_mount(body: MountCreate, ks: Service, principal: Auth) -> MountOut:
    """Needs ``secrets.admin`` over the new mount. 409 when it exists."""
    mount = await ks.secrets.enable_mount(
        principal, body.name, kind=body.kind, **settings_sent(body.config)
    )
    return mount_out(mount)


@router.get("/{mount}", summary="Get a secret mount", responses=FOUND)
async def get_secret_mount(mount: MountParam, ks: Service, principal: Auth) -> MountOut:
    """Needs ``secrets.admin`` over the mount."""
    return mount_out(await ks.secrets.read_config(principal, mount))


@router.patch("/{mount}", summary="Configure a secret mount", responses={**WITH_BODY, **FOUND})
async def configure_secret_mount(
    mount: MountParam, body: MountSettings, ks: Service, principal: Auth
) -> MountOut:
    """Needs ``secrets.admin`` over the mount. Partial: an omitted setting is kept.
    The settings reach every secret of the mount (docs/secrets.md, Settings)."""
    return mount_out(await ks.secrets.write_config(principal, mount, **settings_sent(body)))


__all__ = ["router", "settings_sent"]
