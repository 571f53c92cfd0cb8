"""``sys/`` of the Vault face: ``health`` and ``mounts`` (list, read, enable, tune).

Vault's engine types map to Keystead's mount kinds through ``VAULT_TYPES``
(``kv`` with ``options.version`` 2, ``kv-v2``, ``transit``); the service decides
whether a kind exists. KV version 1 is refused: Keystead's mounts are KV v2.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from keystead import __version__
from keystead.core.secrets import KV_V2, SecretMount
from keystead.errors import Conflict
from keystead.http.vault.wire import (
    NO_CONTENT,
    VaultError,
    VaultRequest,
    VaultResponse,
    bad_request,
    envelope,
)
from keystead.service import Keystead

VAULT_TYPES: dict[str, str] = {"kv": KV_V2, "kv-v2": KV_V2, "transit": "transit"}
"""Vault's ``type`` of a secrets engine -> Keystead's mount kind."""
KIND_TYPES: dict[str, tuple[str, dict[str, str] | None]] = {
    KV_V2: ("kv", {"version": "2"}),
    "transit": ("transit", None),
}
"""Keystead's mount kind -> Vault's ``type`` and ``options`` in ``sys/mounts``."""
VERSION = f"1.15.0+keystead.{__version__}"
"""What ``sys/health`` says: the Vault API level served, and Keystead's version."""
KV1_REFUSED = (
    "KV version 1 is not served: Keystead's mounts are KV version 2; "
    "enable with type 'kv' and options.version '2', or type 'kv-v2'"
)
ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "sys/health"),
    ("HEAD", "sys/health"),
    ("GET", "sys/seal-status"),
    ("GET", "sys/init"),
    ("GET", "sys/mounts"),
    ("GET", "sys/mounts/{mount}"),
    ("POST", "sys/mounts/{mount}"),
    ("PUT", "sys/mounts/{mount}"),
    ("GET", "sys/mounts/{mount}/tune"),
)


def health(ks: Keystead, method: str, query: dict[str, str]) -> VaultResponse:
    """Vault's health body (no token needed; ``HEAD`` too, whose body the server
    drops): initialised, unsealed, active. The
    status-code parameters (``standbyok``, ``activecode``, ...) are accepted; the
    answer is the active node's."""
    if method not in ("GET", "HEAD"):
        raise VaultError(405, ["unsupported operation"])
    code = query.get("activecode", "200")
    status = int(code) if code.isdigit() and 200 <= int(code) <= 599 else 200
    body = {
        "initialized": True,
        "sealed": False,
        "standby": False,
        "performance_standby": False,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": int(time.time()),
        "version": VERSION,
        "cluster_name": "keystead",
        "cluster_id": "",
    }
    return VaultResponse(status=status, raw=body)


UNAUTHENTICATED = frozenset({"health", "seal-status", "init"})
"""The ``sys/`` paths Vault answers without a token."""


def unauthenticated(ks: Keystead, rest: str, method: str, query: dict[str, str]) -> VaultResponse:
    """``sys/health``, ``sys/seal-status`` and ``sys/init`` (``rest`` below ``sys/``)."""
    if rest == "health":
        return health(ks, method, query)
    if method != "GET":
        raise VaultError(405, ["unsupported operation"])
    if rest == "init":
        return VaultResponse(raw={"initialized": True})
    return VaultResponse(
        raw={
            "type": "keystead",
            "initialized": True,
            "sealed": False,
            "t": 1,
            "n": 1,
            "progress": 0,
            "nonce": "",
            "version": VERSION,
            "build_date": "",
            "migration": False,
            "cluster_name": "keystead",
            "cluster_id": "",
            "recovery_seal": False,
            "storage_type": "keystead",
        }
    )


def mount_entry(mount: SecretMount) -> dict[str, Any]:
    vault_type, options = KIND_TYPES.get(mount.kind, (mount.kind, None))
    tag = hashlib.sha256(f"{mount.workspace_id}/{mount.name}".encode()).hexdigest()
    return {
        "accessor": f"{vault_type.replace('-', '_')}_{tag[:8]}",
        "config": {"default_lease_ttl": 0, "force_no_cache": False, "max_lease_ttl": 0},
        "description": "",
        "external_entropy_access": False,
        "local": False,
        "options": options,
        "plugin_version": "",
        "running_plugin_version": "",
        "running_sha256": "",
        "seal_wrap": False,
        "type": vault_type,
        "uuid": f"{tag[:8]}-{tag[8:12]}-{tag[12:16]}-{tag[16:20]}-{tag[20:32]}",
    }


async def _mounts(request: VaultRequest) -> dict[str, SecretMount]:
    found = await request.service.secrets.list_mounts(request.principal)
    return {f"{m.name}/": m for m in found}


async def list_mounts(request: VaultRequest) -> VaultResponse:
    entries = {name: mount_entry(m) for name, m in (await _mounts(request)).items()}
    # Vault answers the mounts both at the top level (older clients) and in data
    return VaultResponse(raw={**entries, **envelope(request.request_id, entries)})


async def read_mount(request: VaultRequest, name: str) -> VaultResponse:
    found = (await _mounts(request)).get(f"{name}/")
    if found is None:
        raise bad_request(f"No secret engine mount at {name}/")
    return VaultResponse(data=mount_entry(found))


async def tune(request: VaultRequest, name: str) -> VaultResponse:
    found = (await _mounts(request)).get(f"{name}/")
    if found is None:
        raise bad_request(f"No secret engine mount at {name}/")
    entry = mount_entry(found)
    data = {
        "default_lease_ttl": 0,
        "description": "",
        "force_no_cache": False,
        "max_lease_ttl": 0,
        "options": entry["options"],
    }
    return VaultResponse(data=data)


async def enable(request: VaultRequest, name: str) -> VaultResponse:
    body = request.body
    vault_type = body.get("type")
    if not isinstance(vault_type, str) or not vault_type:
        raise bad_request("type: the secrets engine's type is required, e.g. 'kv'")
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise bad_request("options: a JSON object")
    kind = VAULT_TYPES.get(vault_type)
    if kind is None:
        raise bad_request(f"plugin not found in the catalog: {vault_type[:64]}")
    if vault_type == "kv" and str(options.get("version", "1")) != "2":
        raise bad_request(KV1_REFUSED)
    if vault_type == "kv-v2" and str(options.get("version", "2")) != "2":
        raise bad_request(KV1_REFUSED)
    try:
        await request.service.secrets.enable_mount(request.principal, name, kind=kind)
    except Conflict:
        raise bad_request(f"path is already in use at {name}/") from None
    return NO_CONTENT


async def handle(request: VaultRequest) -> VaultResponse:
    """``request.rest`` is the path below ``sys/``."""
    rest, method = request.rest, request.method
    if rest == "mounts":
        if method == "GET":
            return await list_mounts(request)
        raise VaultError(405, ["unsupported operation"])
    if rest.startswith("mounts/"):
        name = rest.removeprefix("mounts/").removesuffix("/")
        if name.endswith("/tune"):
            if method != "GET":
                raise VaultError(405, ["unsupported operation"])
            return await tune(request, name.removesuffix("/tune"))
        if not name or "/" in name:
            raise VaultError(404, ["unsupported path"])
        if method == "GET":
            return await read_mount(request, name)
        if method in ("POST", "PUT"):
            return await enable(request, name)
        raise VaultError(405, ["unsupported operation"])
    raise VaultError(404, ["unsupported path"])


__all__ = [
    "KIND_TYPES",
    "KV1_REFUSED",
    "ROUTES",
    "UNAUTHENTICATED",
    "VAULT_TYPES",
    "VERSION",
    "handle",
    "health",
    "unauthenticated",
]
