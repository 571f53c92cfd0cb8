"""``/v1/secrets/{mount}/...``: Keystead's own face of stored secrets (KV version 2
semantics, docs/secrets.md).

The operation comes before the path, as in Vault's KV v2 API, so every secret path
is possible: ``data`` (the value), ``delete``/``undelete``/``destroy`` (versions),
``metadata`` (settings and versions), ``list``, ``subkeys`` and ``rollback``. The
path is decoded once by the server and then validated by the service: ``..``, an
empty segment, a control character or a ``%`` left after decoding is a 422 naming
``path``, before any permission is matched or anything looked up.

Each route checks the path-scoped permission (``secrets.read:secret/payments/*``);
another workspace's secrets are a 404. A deleted or destroyed version answers 404
with the version's ``metadata`` and its ``state`` in the problem; a check-and-set
mismatch is a 409; a value over the size limits a 413; a master key that is
missing or unreadable a 503.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response

from keystead.http.auth import Auth, Service
from keystead.http.openapi import CONFLICT, FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.secret_mounts import settings_sent
from keystead.http.secret_schemas import (
    MERGE_PATCH_JSON,
    DepthQuery,
    FolderParam,
    MetadataUpdate,
    MountParam,
    PathParam,
    RollbackIn,
    SecretPatch,
    SecretPut,
    VersionQuery,
    VersionsIn,
)
from keystead.http.secret_views import (
    KeyList,
    SecretMetadataOut,
    SecretOut,
    SubkeysOut,
    WrittenOut,
    metadata_out,
    secret_out,
    subkeys_out,
    written_out,
)

router = make_router(prefix="/v1/secrets/{mount}", tags=["secrets"])

WRITES = {**WITH_BODY, **FOUND, **CONFLICT}
MERGE_PATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {
            MERGE_PATCH_JSON: {"schema": {"$ref": "#/components/schemas/SecretPatch"}},
        }
    }
}


@router.put("/data/{path:path}", summary="Write a secret", responses=WRITES)
async def put_secret(
    mount: MountParam, path: PathParam, body: SecretPut, ks: Service, principal: Auth
) -> WrittenOut:
    """Needs ``secrets.write``. Writes a new version; ``cas`` N succeeds only while
    the current version is N (0: create only), else 409. 413 over the size limits."""
    written = await ks.secrets.put(principal, mount, path, body.data, cas=body.cas)
    return written_out(written)


@router.get("/data/{path:path}", summary="Read a secret", responses=FOUND)
async def read_secret(
    mount: MountParam,
    path: PathParam,
    ks: Service,
    principal: Auth,
    version: VersionQuery = None,
) -> SecretOut:
    """Needs ``secrets.read``. The current version, or ``version``. A deleted or
    destroyed version is a 404 whose problem carries its ``metadata`` and ``state``."""
    return secret_out(await ks.secrets.get(principal, mount, path, version))


@router.patch(
    "/data/{path:path}",
    summary="Patch a secret",
    responses=WRITES,
    openapi_extra=MERGE_PATCH_BODY,
)
async def patch_secret(
    mount: MountParam, path: PathParam, body: SecretPatch, ks: Service, principal: Auth
) -> WrittenOut:
    """Needs ``secrets.write``. Merges ``data`` into the current version as a new
    version (JSON merge patch: a field set to null is removed); sent as
    ``application/merge-patch+json`` or ``application/json``. The current version
    must be readable."""
    written = await ks.secrets.patch(principal, mount, path, body.data, cas=body.cas)
    return written_out(written)


@router.delete("/data/{path:path}", summary="Delete a secret's current version", responses=FOUND)
async def delete_latest_version(
    mount: MountParam, path: PathParam, ks: Service, principal: Auth
) -> SecretMetadataOut:
    """Needs ``secrets.delete``. Soft delete: ``undelete`` brings it back."""
    return metadata_out(await ks.secrets.delete(principal, mount, path))


@router.post("/delete/{path:path}", summary="Delete versions", responses=WRITES)
async def delete_versions(
    mount: MountParam, path: PathParam, body: VersionsIn, ks: Service, principal: Auth
) -> SecretMetadataOut:
    """Needs ``secrets.delete``. Soft delete; unknown, deleted or destroyed versions
    are skipped."""
    return metadata_out(await ks.secrets.delete(principal, mount, path, body.versions))


@router.post("/undelete/{path:path}", summary="Undelete versions", responses=WRITES)
async def undelete_versions(
    mount: MountParam, path: PathParam, body: VersionsIn, ks: Service, principal: Auth
) -> SecretMetadataOut:
    """Needs ``secrets.delete``."""
    return metadata_out(await ks.secrets.undelete(principal, mount, path, body.versions))


@router.post("/destroy/{path:path}", summary="Destroy versions", responses=WRITES)
async def destroy_versions(
    mount: MountParam, path: PathParam, body: VersionsIn, ks: Service, principal: Auth
) -> SecretMetadataOut:
    """Needs ``secrets.destroy``. Erases the values for good; the metadata stays."""
    return metadata_out(await ks.secrets.destroy(principal, mount, path, body.versions))


@router.get("/metadata/{path:path}", summary="Read a secret's metadata", responses=FOUND)
async def read_secret_metadata(
    mount: MountParam, path: PathParam, ks: Service, principal: Auth
) -> SecretMetadataOut:
    """Needs ``secrets.read``. Settings and every kept version's metadata, no value."""
    return metadata_out(await ks.secrets.read_metadata(principal, mount, path))


async def _write_metadata(
    mount: str, path: str, body: MetadataUpdate, ks: Service, principal: Auth
) -> SecretMetadataOut:
    sent = settings_sent(body)
    return metadata_out(await ks.secrets.write_metadata(principal, mount, path, **sent))


@router.patch("/metadata/{path:path}", summary="Update a secret's settings", responses=WITH_BODY)
async def update_secret_metadata(
    mount: MountParam, path: PathParam, body: MetadataUpdate, ks: Service, principal: Auth
) -> SecretMetadataOut:
    """Needs ``secrets.admin`` on the path. An omitted setting is kept;
    ``custom_metadata`` is replaced whole. A secret without versions is created;
    lowering ``max_versions`` prunes the oldest."""
    return await _write_metadata(mount, path, body, ks, principal)


@router.put("/metadata/{path:path}", summary="Set a secret's settings", responses=WITH_BODY)
async def put_secret_metadata(
    mount: MountParam, path: PathParam, body: MetadataUpdate, ks: Service, principal: Auth
) -> SecretMetadataOut:
    """As PATCH (Vault's metadata write is partial as well)."""
    return await _write_metadata(mount, path, body, ks, principal)


@router.delete("/metadata/{path:path}", status_code=204, summary="Delete a secret", responses=FOUND)
async def delete_secret_metadata(
    mount: MountParam, path: PathParam, ks: Service, principal: Auth
) -> Response:
    """Needs ``secrets.destroy``. Removes the secret: its metadata and every version."""
    await ks.secrets.delete_metadata(principal, mount, path)
    return Response(status_code=204)


@router.get("/list", summary="List a mount's top", responses=FOUND)
async def list_mount_top(mount: MountParam, ks: Service, principal: Auth) -> KeyList:
    """Needs ``secrets.list`` on the whole mount (``secrets.list:<mount>/*``)."""
    return KeyList(keys=await ks.secrets.list(principal, mount))


@router.get("/list/{folder:path}", summary="List a folder", responses=FOUND)
async def list_folder(
    mount: MountParam, folder: FolderParam, ks: Service, principal: Auth
) -> KeyList:
    """Needs ``secrets.list`` on ``<mount>/<folder>/*``. Names one level down, sorted;
    a folder ends with ``/``; nothing below: ``[]``."""
    return KeyList(keys=await ks.secrets.list(principal, mount, folder))


@router.get("/subkeys/{path:path}", summary="A secret's field names", responses=FOUND)
async def secret_subkeys(
    mount: MountParam,
    path: PathParam,
    ks: Service,
    principal: Auth,
    version: VersionQuery = None,
    depth: DepthQuery = None,
) -> SubkeysOut:
    """Needs ``secrets.read``. The field names with null values, never a value."""
    found, read = await ks.secrets.subkeys(principal, mount, path, version)
    return subkeys_out(found, read)


@router.post("/rollback/{path:path}", summary="Roll a secret back", responses=WRITES)
async def rollback_secret(
    mount: MountParam, path: PathParam, body: RollbackIn, ks: Service, principal: Auth
) -> WrittenOut:
    """Needs ``secrets.read`` and ``secrets.write``. Writes the value of ``version``
    as a new version (``cas`` as for a write). A deleted or destroyed version is a
    404 whose problem carries its ``metadata``."""
    written = await ks.secrets.rollback(principal, mount, path, body.version, cas=body.cas)
    return written_out(written)


__all__ = ["router"]
