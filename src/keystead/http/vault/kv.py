"""The KV version 2 engine of the Vault face: every endpoint of a ``kv-v2`` mount,
translated onto ``ks.secrets`` (the service checks the path-scoped permissions and
owns every rule; this module only speaks Vault's wire).

``ROUTES`` lists them; ``handle`` dispatches ``rest`` (``<operation>/<path>``) on
the operation and the method. Vault's own behaviours kept here: the ``mount_type``
of data answers, a deleted or destroyed version read as 404 carrying the version's
metadata, an empty ``LIST`` as 404 ``{"errors": []}``, deleting what is not there
as 204, ``delete_version_after`` as a duration string, ``PATCH`` only with
``Content-Type: application/merge-patch+json``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from keystead.core.authz import Principal
from keystead.core.secrets import SecretMetadata, SecretMount, SecretVersionGone, VersionInfo
from keystead.errors import NotFound
from keystead.http.vault.wire import (
    NO_CONTENT,
    VaultError,
    VaultRequest,
    VaultResponse,
    bad_request,
    format_duration,
    parse_duration,
    rfc3339,
)

MOUNT_TYPE = "kv"
MERGE_PATCH = "application/merge-patch+json"
Handler = Callable[[VaultRequest, SecretMount, str], Awaitable[VaultResponse]]


# shapes -------------------------------------------------------------------------
def version_metadata(info: VersionInfo, secret: SecretMetadata) -> dict[str, Any]:
    """A version's metadata as the data endpoints answer it."""
    return {
        "created_time": rfc3339(info.created_time),
        "custom_metadata": secret.custom_metadata or None,
        "deletion_time": rfc3339(info.deletion_time),
        "destroyed": info.destroyed,
        "version": info.version,
    }


def secret_metadata(secret: SecretMetadata) -> dict[str, Any]:
    return {
        "cas_required": secret.cas_required,
        "created_time": rfc3339(secret.created_time),
        "current_version": secret.current_version,
        "custom_metadata": secret.custom_metadata or None,
        "delete_version_after": format_duration(secret.delete_version_after),
        "max_versions": secret.max_versions,
        "oldest_version": secret.oldest_version,
        "updated_time": rfc3339(secret.updated_time),
        "versions": {
            str(v.version): {
                "created_time": rfc3339(v.created_time),
                "deletion_time": rfc3339(v.deletion_time),
                "destroyed": v.destroyed,
            }
            for v in secret.versions
        },
    }


def _gone(exc: SecretVersionGone, key: str) -> VaultError:
    """Vault's answer for a deleted or destroyed version: 404 with its metadata."""
    body = {key: None, "metadata": version_metadata(exc.version, exc.metadata)}
    return VaultError(404, [], data=body)


# body fields --------------------------------------------------------------------
def _version_param(request: VaultRequest) -> int | None:
    raw = request.query.get("version")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise bad_request("version: a version is a number, 0 or more")
    return int(raw)


def _cas(body: Mapping[str, Any]) -> int | None:
    options = body.get("options")
    if options is None:
        return None
    if not isinstance(options, dict):
        raise bad_request("options: a JSON object")
    cas = options.get("cas")
    if isinstance(cas, float) and cas.is_integer():
        return int(cas)
    if isinstance(cas, str) and cas.isdigit() and len(cas) <= 12:
        return int(cas)
    if cas is not None and (isinstance(cas, bool) or not isinstance(cas, int)):
        raise bad_request("options.cas: a version number, 0 or more")
    return cas


def _data(body: Mapping[str, Any]) -> dict[str, Any]:
    data = body.get("data")
    if data is None:
        raise bad_request("no data provided")
    if not isinstance(data, dict):
        raise bad_request("data: a JSON object of string fields")
    return data


def _versions(body: Mapping[str, Any]) -> list[int]:
    versions = body.get("versions")
    if versions is None or versions == []:
        raise bad_request("no version number provided")
    if isinstance(versions, int) and not isinstance(versions, bool):
        versions = [versions]
    if not isinstance(versions, list):
        raise bad_request("versions: a list of version numbers")
    return versions


def _settings(body: Mapping[str, Any]) -> dict[str, Any]:
    """``max_versions``, ``cas_required`` and ``delete_version_after`` given."""
    out: dict[str, Any] = {}
    if body.get("max_versions") is not None:
        out["max_versions"] = body["max_versions"]
    if body.get("cas_required") is not None:
        out["cas_required"] = body["cas_required"]
    if body.get("delete_version_after") is not None:
        out["delete_version_after"] = parse_duration(
            body["delete_version_after"], "delete_version_after"
        )
    return out


def _require_merge_patch(request: VaultRequest) -> None:
    if MERGE_PATCH not in request.content_type.lower():
        raise VaultError(415, [f"PATCH requires 'Content-Type: {MERGE_PATCH}'"])


# data ---------------------------------------------------------------------------
async def read_data(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    try:
        found = await request.service.secrets.get(
            request.principal, mount.name, path, _version_param(request)
        )
    except SecretVersionGone as exc:
        raise _gone(exc, "data") from None
    except NotFound:
        raise VaultError(404, []) from None
    data = {"data": found.data, "metadata": version_metadata(found.version, found.metadata)}
    return VaultResponse(data=data, mount_type=MOUNT_TYPE)


async def write_data(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    body = request.body
    written = await request.service.secrets.put(
        request.principal, mount.name, path, _data(body), cas=_cas(body)
    )
    data = version_metadata(written.version, written.metadata)
    return VaultResponse(data=data, mount_type=MOUNT_TYPE)


async def patch_data(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    _require_merge_patch(request)
    body = request.body
    try:
        written = await request.service.secrets.patch(
            request.principal, mount.name, path, _data(body), cas=_cas(body)
        )
    except SecretVersionGone as exc:
        raise _gone(exc, "data") from None
    except NotFound:
        raise VaultError(404, []) from None
    data = version_metadata(written.version, written.metadata)
    return VaultResponse(data=data, mount_type=MOUNT_TYPE)


async def delete_latest(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    try:
        await request.service.secrets.delete(request.principal, mount.name, path)
    except NotFound:
        pass  # Vault: deleting what is not there succeeds
    return NO_CONTENT


async def delete_versions(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    return await _change_versions(request.service.secrets.delete, request, mount, path)


async def undelete_versions(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    return await _change_versions(request.service.secrets.undelete, request, mount, path)


async def destroy_versions(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    return await _change_versions(request.service.secrets.destroy, request, mount, path)


async def _change_versions(
    change: Callable[[Principal, str, str, Sequence[int]], Awaitable[object]],
    request: VaultRequest,
    mount: SecretMount,
    path: str,
) -> VaultResponse:
    """Delete, undelete or destroy the body's ``versions``; a secret that is not
    there is no error (Vault answers 204 all the same)."""
    versions = _versions(request.body)
    with contextlib.suppress(NotFound):
        await change(request.principal, mount.name, path, versions)
    return NO_CONTENT


async def subkeys(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    depth = request.query.get("depth", "0")
    if not depth.isdigit():
        raise bad_request("depth: a number, 0 or more")
    try:
        keys, found = await request.service.secrets.subkeys(
            request.principal, mount.name, path, _version_param(request)
        )
    except SecretVersionGone as exc:
        raise _gone(exc, "subkeys") from None
    except NotFound:
        raise VaultError(404, []) from None
    data = {"subkeys": keys, "metadata": version_metadata(found.version, found.metadata)}
    return VaultResponse(data=data)


# metadata -----------------------------------------------------------------------
async def read_metadata(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    try:
        secret = await request.service.secrets.read_metadata(request.principal, mount.name, path)
    except NotFound:
        raise VaultError(404, []) from None
    return VaultResponse(data=secret_metadata(secret))


async def list_keys(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    try:
        keys = await request.service.secrets.list(request.principal, mount.name, path)
    except NotFound:
        keys = []
    if not keys:
        raise VaultError(404, [])
    return VaultResponse(data={"keys": keys})


async def write_metadata(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    body = request.body
    custom = body.get("custom_metadata")
    await request.service.secrets.write_metadata(
        request.principal, mount.name, path, **_settings(body), custom_metadata=custom
    )
    return NO_CONTENT


async def patch_metadata(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    """JSON merge patch of the settings; in ``custom_metadata`` a key set to null
    is removed."""
    _require_merge_patch(request)
    body = request.body
    secrets = request.service.secrets
    try:
        current = await secrets.read_metadata(request.principal, mount.name, path)
    except NotFound:
        raise VaultError(404, []) from None
    changes = body.get("custom_metadata")
    custom: dict[str, Any] | None = None
    if changes is not None:
        if not isinstance(changes, dict):
            raise bad_request("custom_metadata: a JSON object of strings")
        custom = dict(current.custom_metadata)
        for key, value in changes.items():
            if value is None:
                custom.pop(key, None)
            else:
                custom[key] = value
    await secrets.write_metadata(
        request.principal, mount.name, path, **_settings(body), custom_metadata=custom
    )
    return NO_CONTENT


async def delete_metadata(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    try:
        await request.service.secrets.delete_metadata(request.principal, mount.name, path)
    except NotFound:
        pass
    return NO_CONTENT


# config -------------------------------------------------------------------------
async def read_config(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    if path:
        raise VaultError(404, ["unsupported path"])
    found = await request.service.secrets.read_config(request.principal, mount.name)
    config = found.config
    data = {
        "cas_required": config.cas_required,
        "delete_version_after": format_duration(config.delete_version_after),
        "max_versions": config.max_versions,
    }
    return VaultResponse(data=data)


async def write_config(request: VaultRequest, mount: SecretMount, path: str) -> VaultResponse:
    if path:
        raise VaultError(404, ["unsupported path"])
    await request.service.secrets.write_config(
        request.principal, mount.name, **_settings(request.body)
    )
    return NO_CONTENT


# dispatch -----------------------------------------------------------------------
TABLE: dict[str, dict[str, Handler]] = {
    "config": {"GET": read_config, "POST": write_config, "PUT": write_config},
    "data": {
        "GET": read_data,
        "POST": write_data,
        "PUT": write_data,
        "PATCH": patch_data,
        "DELETE": delete_latest,
    },
    "delete": {"POST": delete_versions, "PUT": delete_versions},
    "undelete": {"POST": undelete_versions, "PUT": undelete_versions},
    "destroy": {"POST": destroy_versions, "PUT": destroy_versions},
    "metadata": {
        "GET": read_metadata,
        "LIST": list_keys,
        "POST": write_metadata,
        "PUT": write_metadata,
        "PATCH": patch_metadata,
        "DELETE": delete_metadata,
    },
    "subkeys": {"GET": subkeys},
}
ROUTES: tuple[tuple[str, str], ...] = tuple(
    (method, f"{{mount}}/{operation}" + ("" if operation == "config" else "/{path}"))
    for operation, methods in TABLE.items()
    for method in methods
)


def handle(request: VaultRequest, mount: SecretMount, rest: str) -> Awaitable[VaultResponse]:
    """The operation's handler, called: the answer to await (a route that does not
    exist raises at once)."""
    operation, _, path = rest.partition("/")
    methods = TABLE.get(operation)
    if methods is None:
        raise VaultError(404, ["unsupported path"])
    handler = methods.get(request.method)
    if handler is None:
        raise VaultError(405, ["unsupported operation"])
    listing = operation == "metadata" and request.method == "LIST"
    if not path and operation != "config" and not listing:
        raise VaultError(404, ["unsupported path"])
    return handler(request, mount, path)


__all__ = ["MOUNT_TYPE", "ROUTES", "TABLE", "handle", "secret_metadata", "version_metadata"]
