"""``/v1/secrets/{mount}/consumers/...`` and ``/v1/secrets/{mount}/rotation/...``:
who reads which version of a secret, and its rotation policy (docs/secrets.md).

``GET consumers/{path}`` answers, per version and per credential, the first and
last read and the count ("who still reads version 3?": ``?version=3``). The
rotation routes read, set and clear a secret's policy, or the mount's default
(``/rotation`` without a path). Everything here takes ``secrets.admin``: on the
path, or over the whole mount for the mount's default.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, Field, StrictInt

from keystead.core.secrets import MAX_DURATION_S
from keystead.http.auth import Auth, Service
from keystead.http.fieldtypes import RequestModel
from keystead.http.openapi import FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.views import Timestamp
from keystead.service.secret_consumers import Consumer, Consumers
from keystead.service.secret_rotation import MIN_MAX_AGE_S, RotationPolicyView

router = make_router(prefix="/v1/secrets", tags=["secrets"])

Mount = Annotated[str, Path(description="the mount (``secret`` by default)", max_length=64)]
SecretPath = Annotated[str, Path(description="the secret's path, slash-separated", max_length=1024)]


class ConsumerOut(BaseModel):
    version: int
    credential: str = Field(description="the root key's id (rk_...), or cli: the local operator")
    kind: str = Field(description="root_key, local_operator or other")
    name: str | None = Field(description="the root key's name")
    start: str | None = Field(description="the visible beginning of the root key")
    revoked: bool
    first_read: Timestamp
    last_read: Timestamp
    reads: int


class ConsumersOut(BaseModel):
    mount: str
    path: str
    current_version: int
    items: list[ConsumerOut] = Field(description="newest version first, then the latest read first")


class RotationIn(RequestModel):
    """Rotate the secret ``max_age_s`` after its latest version was written;
    ``secret.rotation_due`` and an alert come ``warn_before_s`` earlier."""

    max_age_s: Annotated[StrictInt, Field(ge=MIN_MAX_AGE_S, le=MAX_DURATION_S)]
    warn_before_s: Annotated[StrictInt, Field(ge=0, le=MAX_DURATION_S)] | None = Field(
        default=None, description="default 0: notified when the maximum age is reached"
    )


class RotationOut(BaseModel):
    mount: str
    path: str | None = Field(description="null for a mount's default")
    max_age_s: int | None
    warn_before_s: int | None
    source: str | None = Field(
        description="secret (its own policy), mount (the mount's default) or null (none)"
    )
    version: int | None = Field(default=None, description="the latest live version")
    created_time: Timestamp | None = None
    warn_at: Timestamp | None = None
    due_at: Timestamp | None = None


def _consumer(item: Consumer) -> ConsumerOut:
    return ConsumerOut(
        version=item.version,
        credential=item.credential,
        kind=item.kind,
        name=item.name,
        start=item.start,
        revoked=item.revoked,
        first_read=item.first_read,
        last_read=item.last_read,
        reads=item.reads,
    )


def _consumers(found: Consumers) -> ConsumersOut:
    return ConsumersOut(
        mount=found.mount,
        path=found.path,
        current_version=found.current_version,
        items=[_consumer(c) for c in found.items],
    )


def _rotation(view: RotationPolicyView) -> RotationOut:
    return RotationOut(
        mount=view.mount,
        path=view.path,
        max_age_s=view.max_age_s,
        warn_before_s=view.warn_before_s,
        source=view.source,
        version=view.version,
        created_time=view.created_time,
        warn_at=view.warn_at,
        due_at=view.due_at,
    )


@router.get("/{mount}/consumers/{path:path}", summary="Who read which version", responses=FOUND)
async def secret_consumers(
    mount: Mount,
    path: SecretPath,
    ks: Service,
    principal: Auth,
    version: Annotated[
        int | None, Query(ge=0, description="one version only (0 or none: every version)")
    ] = None,
) -> ConsumersOut:
    """Needs ``secrets.admin`` on the path. Names credentials by id, name and
    ``start``, never a key or a value."""
    return _consumers(await ks.secret_consumers.consumers(principal, mount, path, version))


@router.get("/{mount}/rotation", summary="Read a mount's default rotation policy", responses=FOUND)
async def read_mount_rotation(mount: Mount, ks: Service, principal: Auth) -> RotationOut:
    """Needs ``secrets.admin`` over the whole mount."""
    return _rotation(await ks.secret_rotation.read_mount(principal, mount))


@router.put(
    "/{mount}/rotation",
    summary="Set a mount's default rotation policy",
    responses={**WITH_BODY, **FOUND},
)
async def set_mount_rotation(
    mount: Mount, body: RotationIn, ks: Service, principal: Auth
) -> RotationOut:
    """Applies to every secret of the mount without a policy of its own. Needs
    ``secrets.admin`` over the whole mount."""
    view = await ks.secret_rotation.set_mount(
        principal, mount, max_age_s=body.max_age_s, warn_before_s=body.warn_before_s
    )
    return _rotation(view)


@router.delete(
    "/{mount}/rotation", summary="Remove a mount's default rotation policy", responses=FOUND
)
async def clear_mount_rotation(mount: Mount, ks: Service, principal: Auth) -> RotationOut:
    return _rotation(await ks.secret_rotation.clear_mount(principal, mount))


@router.get(
    "/{mount}/rotation/{path:path}", summary="Read a secret's rotation policy", responses=FOUND
)
async def read_secret_rotation(
    mount: Mount, path: SecretPath, ks: Service, principal: Auth
) -> RotationOut:
    """The policy that applies (its own, else the mount's), with when the latest
    live version warns and is due. Needs ``secrets.admin`` on the path."""
    return _rotation(await ks.secret_rotation.read(principal, mount, path))


@router.put(
    "/{mount}/rotation/{path:path}",
    summary="Set a secret's rotation policy",
    responses={**WITH_BODY, **FOUND},
)
async def set_secret_rotation(
    mount: Mount, path: SecretPath, body: RotationIn, ks: Service, principal: Auth
) -> RotationOut:
    view = await ks.secret_rotation.set(
        principal, mount, path, max_age_s=body.max_age_s, warn_before_s=body.warn_before_s
    )
    return _rotation(view)


@router.delete(
    "/{mount}/rotation/{path:path}",
    summary="Remove a secret's own rotation policy",
    responses=FOUND,
)
async def clear_secret_rotation(
    mount: Mount, path: SecretPath, ks: Service, principal: Auth
) -> RotationOut:
    """The mount's default applies again, if it has one."""
    return _rotation(await ks.secret_rotation.clear(principal, mount, path))


__all__ = ["router"]
