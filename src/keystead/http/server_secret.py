"""``/v1/server_secret``: the versions of the server secret that keys are hashed
under; status, rotation and retirement (docs/operations.md, "Rotating the server
secret"). They act on the whole deployment: no material is ever in an answer."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StrictInt

from keystead.http.auth import Auth, Service
from keystead.http.fieldtypes import RequestModel
from keystead.http.openapi import CONFLICT, FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.views import iso_or_none
from keystead.service.server_secret import MAX_SETTLE_S, SecretStatus

router = make_router(prefix="/v1/server_secret", tags=["server secret"])


class VersionOut(BaseModel):
    version: int
    state: str = Field(description="newest, pending, older or retired")
    created_at: str | None
    activates_at: str | None
    retired_at: str | None
    keys: int = Field(description="keys whose stored hash is under this version")
    root_keys: int


class SecretStatusOut(BaseModel):
    newest: int | None
    versions: list[VersionOut]
    versions_max: int = Field(description="versions in use at once (KEYSTEAD_SECRET_VERSIONS_MAX)")
    refresh_s: float = Field(description="how often every node re-reads the versions")


class RotateSecretIn(RequestModel):
    settle_s: Annotated[float, Field(ge=0, le=MAX_SETTLE_S)] | None = Field(
        default=None,
        description="seconds the new version stays pending, so that every node knows it "
        "before a key is hashed under it; default twice KEYSTEAD_SECRET_REFRESH_S",
    )


class RetireSecretIn(RequestModel):
    version: Annotated[StrictInt, Field(ge=1, le=1_000_000)]
    force: StrictBool = Field(
        default=False,
        description="retire although keys or root keys still use it: they stop verifying",
    )


def status_out(status: SecretStatus) -> SecretStatusOut:
    return SecretStatusOut(
        newest=status.newest,
        versions=[
            VersionOut(
                version=v.version,
                state=v.state,
                created_at=iso_or_none(v.created_at),
                activates_at=iso_or_none(v.activates_at),
                retired_at=iso_or_none(v.retired_at),
                keys=v.keys,
                root_keys=v.root_keys,
            )
            for v in status.versions
        ],
        versions_max=status.versions_max,
        refresh_s=status.refresh_s,
    )


@router.get("", summary="The server secret's versions")
async def server_secret_status(ks: Service, principal: Auth) -> SecretStatusOut:
    """Needs ``server_secret.read``: each version, its state, and how many keys and
    root keys are still hashed under it (across every workspace)."""
    return status_out(await ks.server_secret.status(principal))


@router.post(
    "/rotate",
    status_code=201,
    summary="Add a server-secret version",
    responses={**WITH_BODY, **CONFLICT},
)
async def rotate_server_secret(
    ks: Service, principal: Auth, body: RotateSecretIn | None = None
) -> SecretStatusOut:
    """Needs ``server_secret.rotate`` and a master key. The new version is pending for
    ``settle_s``, then new keys are hashed under it; older keys move to it at their
    first verification."""
    settle = None if body is None else body.settle_s
    return status_out(await ks.server_secret.rotate(principal, settle_s=settle))


@router.post(
    "/retire",
    summary="Retire a server-secret version",
    responses={**WITH_BODY, **FOUND, **CONFLICT},
)
async def retire_server_secret(
    body: RetireSecretIn, ks: Service, principal: Auth
) -> SecretStatusOut:
    """Needs ``server_secret.rotate``. 409 while keys or root keys still use the
    version (the detail says how many) unless ``force``, for the newest or a pending
    version, and while nodes may still hash new keys under it."""
    status = await ks.server_secret.retire(principal, body.version, force=body.force)
    return status_out(status)
