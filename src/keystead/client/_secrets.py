"""The calls of stored secrets (docs/secrets.md, "Keystead's HTTP API and CLI").

``mount`` defaults to ``secret``, the mount every workspace has. A path is sent
segment by segment, each percent-encoded, so a path can never change the route;
the server validates it (``..``, empty segments, control characters are a 422).
Only ``read_secret`` answers a value (``data``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from keystead.client._call import (
    Call,
    compact,
    endpoint,
    get,
    post,
    read_items,
    read_nothing,
    read_object,
)
from keystead.client._errors import invalid_answer

DEFAULT_MOUNT = "secret"
_MOUNTS = "/v1/secret-mounts"
_DATA = "/v1/secrets/{mount}/data/{path}"
_METADATA = "/v1/secrets/{mount}/metadata/{path}"


def _mount(mount: str) -> str:
    if not mount:
        raise ValueError("a mount is required")
    return quote(mount, safe="")


def _segment(part: str) -> str:
    """One segment, percent-encoded; a dot segment too (``%2E%2E``), which the
    server refuses: sent as ``..``, the HTTP client would resolve it away and
    address another secret."""
    if part and not part.strip("."):
        return "%2E" * len(part)
    return quote(part, safe="")


def _path(path: str) -> str:
    """Each segment percent-encoded; one leading and trailing ``/`` are the server's
    to trim, any other empty segment its to refuse."""
    if not path:
        raise ValueError("a secret path is required")
    return "/".join(_segment(part) for part in path.split("/"))


def _at(operation: str, mount: str, path: str) -> str:
    return f"/v1/secrets/{_mount(mount)}/{operation}/{_path(path)}"


def _settings(
    max_versions: int | None, cas_required: bool | None, delete_version_after: int | None
) -> dict[str, Any]:
    return compact(
        max_versions=max_versions,
        cas_required=cas_required,
        delete_version_after=delete_version_after,
    )


class SecretsApi:
    # -- mounts ----------------------------------------------------------------

    @endpoint(("GET", _MOUNTS))
    def list_secret_mounts(self) -> Call[list[dict[str, Any]]]:
        """The mounts: ``[{"name", "kind", "config", "created_at", "updated_at"}]``."""
        return get(_MOUNTS, read_items)

    @endpoint(("POST", _MOUNTS))
    def enable_secret_mount(
        self,
        name: str,
        *,
        kind: str = "kv-v2",
        max_versions: int | None = None,
        cas_required: bool | None = None,
        delete_version_after: int | None = None,
    ) -> Call[dict[str, Any]]:
        body = {
            "name": name,
            "kind": kind,
            "config": _settings(max_versions, cas_required, delete_version_after),
        }
        return post(_MOUNTS, read_object, body)

    @endpoint(("GET", f"{_MOUNTS}/{{mount}}"))
    def get_secret_mount(self, mount: str) -> Call[dict[str, Any]]:
        return get(f"{_MOUNTS}/{_mount(mount)}", read_object)

    @endpoint(("PATCH", f"{_MOUNTS}/{{mount}}"))
    def configure_secret_mount(
        self,
        mount: str,
        *,
        max_versions: int | None = None,
        cas_required: bool | None = None,
        delete_version_after: int | None = None,
    ) -> Call[dict[str, Any]]:
        """Change the settings given; the others are kept."""
        body = _settings(max_versions, cas_required, delete_version_after)
        return Call("PATCH", f"{_MOUNTS}/{_mount(mount)}", read_object, json=body)

    # -- values ----------------------------------------------------------------

    @endpoint(("PUT", _DATA))
    def put_secret(
        self,
        path: str,
        data: Mapping[str, str],
        *,
        mount: str = DEFAULT_MOUNT,
        cas: int | None = None,
    ) -> Call[dict[str, Any]]:
        """Write a new version: ``{"mount", "path", "metadata": {"version", ...}}``.
        ``cas`` N: only while the current version is N (0: create only)."""
        body = {"data": dict(data), **compact(cas=cas)}
        return Call("PUT", _at("data", mount, path), read_object, json=body)

    @endpoint(("GET", _DATA))
    def read_secret(
        self, path: str, *, mount: str = DEFAULT_MOUNT, version: int | None = None
    ) -> Call[dict[str, Any]]:
        """``{"mount", "path", "data": {field: value}, "metadata": {"version",
        "created_time", "deletion_time", "destroyed", "custom_metadata"}}``. A
        deleted or destroyed version raises ``ApiError`` 404 whose ``body`` carries
        its ``metadata`` and ``state``."""
        return get(_at("data", mount, path), read_object, version=version)

    @endpoint(("PATCH", _DATA))
    def patch_secret(
        self,
        path: str,
        data: Mapping[str, str | None],
        *,
        mount: str = DEFAULT_MOUNT,
        cas: int | None = None,
    ) -> Call[dict[str, Any]]:
        """Merge ``data`` into the current version as a new one (None removes a field)."""
        body = {"data": dict(data), **compact(cas=cas)}
        return Call("PATCH", _at("data", mount, path), read_object, json=body)

    # -- versions --------------------------------------------------------------

    @endpoint(("DELETE", _DATA), ("POST", "/v1/secrets/{mount}/delete/{path}"))
    def delete_secret(
        self, path: str, *, mount: str = DEFAULT_MOUNT, versions: Sequence[int] | None = None
    ) -> Call[dict[str, Any]]:
        """Soft-delete ``versions`` (None: the current one); answers the metadata."""
        if versions is None:
            return Call("DELETE", _at("data", mount, path), read_object)
        return post(_at("delete", mount, path), read_object, {"versions": list(versions)})

    @endpoint(("POST", "/v1/secrets/{mount}/undelete/{path}"))
    def undelete_secret(
        self, path: str, versions: Sequence[int], *, mount: str = DEFAULT_MOUNT
    ) -> Call[dict[str, Any]]:
        return post(_at("undelete", mount, path), read_object, {"versions": list(versions)})

    @endpoint(("POST", "/v1/secrets/{mount}/destroy/{path}"))
    def destroy_secret(
        self, path: str, versions: Sequence[int], *, mount: str = DEFAULT_MOUNT
    ) -> Call[dict[str, Any]]:
        """Erase the values of ``versions`` for good (their metadata stays)."""
        return post(_at("destroy", mount, path), read_object, {"versions": list(versions)})

    @endpoint(("POST", "/v1/secrets/{mount}/rollback/{path}"))
    def rollback_secret(
        self, path: str, version: int, *, mount: str = DEFAULT_MOUNT, cas: int | None = None
    ) -> Call[dict[str, Any]]:
        """Write the value of the kept ``version`` again, as a new version."""
        body = {"version": version, **compact(cas=cas)}
        return post(_at("rollback", mount, path), read_object, body)

    # -- metadata --------------------------------------------------------------

    @endpoint(("GET", _METADATA))
    def read_secret_metadata(
        self, path: str, *, mount: str = DEFAULT_MOUNT
    ) -> Call[dict[str, Any]]:
        """Settings and every kept version's metadata (``versions``), never a value."""
        return get(_at("metadata", mount, path), read_object)

    @endpoint(("PATCH", _METADATA), ("PUT", _METADATA))
    def update_secret_metadata(
        self,
        path: str,
        *,
        mount: str = DEFAULT_MOUNT,
        max_versions: int | None = None,
        cas_required: bool | None = None,
        delete_version_after: int | None = None,
        custom_metadata: Mapping[str, str] | None = None,
    ) -> Call[dict[str, Any]]:
        """Change the settings given; ``custom_metadata`` is replaced whole."""
        body = {
            **_settings(max_versions, cas_required, delete_version_after),
            **compact(custom_metadata=None if custom_metadata is None else dict(custom_metadata)),
        }
        return Call("PATCH", _at("metadata", mount, path), read_object, json=body)

    @endpoint(("DELETE", _METADATA))
    def delete_secret_metadata(self, path: str, *, mount: str = DEFAULT_MOUNT) -> Call[None]:
        """Delete the secret: its metadata and every version."""
        return Call("DELETE", _at("metadata", mount, path), read_nothing)

    # -- listing ---------------------------------------------------------------

    @endpoint(("GET", "/v1/secrets/{mount}/list"), ("GET", "/v1/secrets/{mount}/list/{folder}"))
    def list_secrets(self, folder: str = "", *, mount: str = DEFAULT_MOUNT) -> Call[list[str]]:
        """The names one level below ``folder`` ("": the mount's top), sorted; a
        folder ends with ``/``."""
        trimmed = folder.strip("/")
        where = f"/v1/secrets/{_mount(mount)}/list"
        url = f"{where}/{_path(trimmed)}" if trimmed else where
        return get(url, _read_keys)

    @endpoint(("GET", "/v1/secrets/{mount}/subkeys/{path}"))
    def secret_subkeys(
        self,
        path: str,
        *,
        mount: str = DEFAULT_MOUNT,
        version: int | None = None,
        depth: int | None = None,
    ) -> Call[dict[str, Any]]:
        """``{"mount", "path", "subkeys": {field: None}, "metadata": {...}}``."""
        return get(_at("subkeys", mount, path), read_object, version=version, depth=depth)


def _read_keys(response: httpx.Response) -> list[str]:
    """The ``keys`` of a listing's ``{"keys": [...]}``."""
    keys = read_object(response).get("keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise invalid_answer("expected {'keys': [...]}")
    return keys


__all__ = ["DEFAULT_MOUNT", "SecretsApi"]
