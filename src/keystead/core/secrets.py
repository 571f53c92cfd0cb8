"""Stored secrets, KV version 2: mounts, secrets, versions and their rules. Pure.

A workspace has mounts (``secret`` by default); a mount holds secrets at paths
(``keystead.core.secret_paths``); every write of a secret makes a new version,
whose value is a JSON object of string fields, sealed (``keystead.core.envelope``)
under ``secret_aad(workspace, mount, path, version)``. A version is *live*,
*deleted* (soft: ``deletion_time`` in the past, undone by undelete) or *destroyed*
(its sealed bytes erased). docs/secrets.md, "The model", says it for users.

Settings exist per mount and per secret, as in Vault:

- ``max_versions``: the versions kept (older ones are pruned on write); the
  secret's when set (non-zero), else the mount's, else 10.
- ``cas_required``: every write must name the version it replaces (``cas``);
  required when either the secret or the mount says so.
- ``delete_version_after`` (seconds, 0 = never): a new version gets
  ``deletion_time = created_time + delete_version_after`` and reads as deleted from
  then on. The smaller non-zero value of the secret's and the mount's applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import orjson

from keystead.core.secret_paths import normalize_field
from keystead.errors import NotFound, PayloadTooLarge, ValidationError

KV_V2 = "kv-v2"
TRANSIT = "transit"
"""A mount of named encryption keys (``keystead.core.transit``), not of secrets."""
MOUNT_KINDS: tuple[str, ...] = (KV_V2, TRANSIT)
DEFAULT_MAX_VERSIONS = 10
"""What ``max_versions`` 0 means on both the secret and its mount, as in Vault."""
MAX_MAX_VERSIONS = 1000
MAX_VERSION_BYTES = 512 * 1024
"""A version's value, encoded as compact JSON (UTF-8), is at most this long."""
MAX_FIELDS = 1000
MAX_CUSTOM_METADATA = 64
MAX_CUSTOM_KEY = 128
MAX_CUSTOM_VALUE = 512
MAX_DURATION_S = 100 * 365 * 86400
"""The longest ``delete_version_after`` (a century: longer is "never", i.e. 0)."""

VersionState = Literal["live", "deleted", "destroyed"]


@dataclass(frozen=True, slots=True)
class MountConfig:
    """A mount's settings (Vault's ``config`` endpoint of a KV v2 mount)."""

    max_versions: int = 0
    cas_required: bool = False
    delete_version_after: int = 0


@dataclass(frozen=True, slots=True)
class SecretMount:
    workspace_id: str
    name: str
    kind: str
    config: MountConfig
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One version's metadata (never its value)."""

    version: int
    created_time: datetime
    deletion_time: datetime | None = None
    destroyed: bool = False
    key_version: int | None = None
    """The master-key version that wraps its data key (None once destroyed)."""

    def state(self, now: datetime) -> VersionState:
        if self.destroyed:
            return "destroyed"
        if self.deletion_time is not None and self.deletion_time <= now:
            return "deleted"
        return "live"


@dataclass(frozen=True, slots=True)
class SecretMetadata:
    """A secret: where it lives, its settings, and the versions kept (ascending).

    ``current_version`` is 0 for a secret whose metadata was written before any
    value; ``oldest_version`` is the oldest version kept (0 when none)."""

    id: str
    workspace_id: str
    mount: str
    path: str
    created_time: datetime
    updated_time: datetime
    current_version: int = 0
    oldest_version: int = 0
    max_versions: int = 0
    cas_required: bool = False
    delete_version_after: int = 0
    custom_metadata: dict[str, str] = field(default_factory=dict)
    versions: tuple[VersionInfo, ...] = ()

    def version(self, number: int) -> VersionInfo | None:
        return next((v for v in self.versions if v.version == number), None)


@dataclass(frozen=True, slots=True)
class SealedVersion:
    """A version as stored: its metadata and the envelope's byte form (None once
    destroyed). Never a plaintext."""

    info: VersionInfo
    sealed: bytes | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class SecretRead:
    """A version's value (its repr never shows it), that version and its secret."""

    data: dict[str, str] = field(repr=False)
    version: VersionInfo
    metadata: SecretMetadata


@dataclass(frozen=True, slots=True)
class SecretWritten:
    """The version a write made, and the secret after it."""

    version: VersionInfo
    metadata: SecretMetadata


class SecretVersionGone(NotFound):
    """A version that exists but is deleted or destroyed: "not found", with its
    metadata, so the Vault face can answer 404 with the metadata body as Vault does."""

    def __init__(self, metadata: SecretMetadata, version: VersionInfo, state: str) -> None:
        super().__init__(
            f"version {version.version} of this secret is {state}"
            + ("; undelete it to read it again" if state == "deleted" else "")
        )
        self.metadata = metadata
        self.version = version
        self.state = state


# settings -----------------------------------------------------------------------
def effective_max_versions(secret: SecretMetadata | None, mount: MountConfig) -> int:
    own = 0 if secret is None else secret.max_versions
    return own or mount.max_versions or DEFAULT_MAX_VERSIONS


def effective_cas_required(secret: SecretMetadata | None, mount: MountConfig) -> bool:
    return mount.cas_required or (secret is not None and secret.cas_required)


def effective_delete_after(secret: SecretMetadata | None, mount: MountConfig) -> int:
    """Seconds after which a new version is deleted (0: never): the smaller set value."""
    own = 0 if secret is None else secret.delete_version_after
    values = [v for v in (own, mount.delete_version_after) if v > 0]
    return min(values) if values else 0


def setting_changes(
    max_versions: object = None, cas_required: object = None, delete_version_after: object = None
) -> dict[str, Any]:
    """The version settings given (``None``: keep), checked: what ``replace`` takes
    for a mount's ``MountConfig`` and for a secret's ``SecretMetadata`` alike."""
    changes: dict[str, Any] = {}
    if max_versions is not None:
        changes["max_versions"] = check_max_versions(max_versions)
    if cas_required is not None:
        changes["cas_required"] = check_flag(cas_required, "cas_required")
    if delete_version_after is not None:
        changes["delete_version_after"] = check_duration(delete_version_after)
    return changes


def check_max_versions(value: object, field: str = "max_versions") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MAX_VERSIONS:
        raise ValidationError(
            f"max_versions is an integer from 0 to {MAX_MAX_VERSIONS} (0: the default, 10)",
            field=field,
        )
    return value


def check_flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{field} is true or false", field=field)
    return value


def check_duration(value: object, field: str = "delete_version_after") -> int:
    """Seconds, 0 for never (the Vault face parses Vault's ``"3h"`` form into this)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DURATION_S:
        raise ValidationError(
            f"{field} is a number of seconds from 0 (never) to {MAX_DURATION_S}", field=field
        )
    return value


def check_custom_metadata(value: object, field: str = "custom_metadata") -> dict[str, str]:
    """Vault's bounds: at most 64 keys, keys up to 128 and values up to 512 characters."""
    if not isinstance(value, Mapping):
        raise ValidationError("custom_metadata is a JSON object of strings", field=field)
    if len(value) > MAX_CUSTOM_METADATA:
        raise ValidationError(
            f"custom_metadata has at most {MAX_CUSTOM_METADATA} keys", field=field
        )
    checked: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not 0 < len(key) <= MAX_CUSTOM_KEY:
            raise ValidationError(
                f"a custom_metadata key is 1-{MAX_CUSTOM_KEY} characters", field=field
            )
        if not isinstance(item, str) or len(item) > MAX_CUSTOM_VALUE:
            raise ValidationError(
                f"a custom_metadata value is a string of at most {MAX_CUSTOM_VALUE} characters",
                field=f"{field}.{key}" if key.isprintable() else field,
            )
        checked[key] = item
    return checked


# values -------------------------------------------------------------------------
def check_data(value: object, field: str = "data") -> dict[str, str]:
    """A version's value: a JSON object of string fields. Field names follow the
    rules of a reference's field (``secret_paths.normalize_field``), so every field
    can be named in ``secret/app#field``; two names equal after NFC are refused.
    The value is never part of an error message."""
    if not isinstance(value, Mapping):
        raise ValidationError("a secret's value is a JSON object of string fields", field=field)
    if len(value) > MAX_FIELDS:
        raise PayloadTooLarge(f"a secret has at most {MAX_FIELDS} fields", field=field)
    checked: dict[str, str] = {}
    for name, item in value.items():
        key = normalize_field(name, field=field)
        if not isinstance(item, str):
            raise ValidationError(f"the field '{key}' is not a string", field=f"{field}.{key}")
        if key in checked:
            raise ValidationError(f"the field '{key}' is given twice", field=f"{field}.{key}")
        checked[key] = item
    return checked


def encode_data(data: Mapping[str, str], field: str = "data") -> bytes:
    """The plaintext that is sealed: compact JSON, keys sorted, bounded in size."""
    encoded = orjson.dumps(dict(data), option=orjson.OPT_SORT_KEYS)
    if len(encoded) > MAX_VERSION_BYTES:
        raise PayloadTooLarge(
            f"a secret version is at most {MAX_VERSION_BYTES} bytes as JSON "
            f"(this one is {len(encoded)})",
            field=field,
        )
    return encoded


def decode_data(plaintext: bytes) -> dict[str, str]:
    value = orjson.loads(plaintext)
    if not isinstance(value, dict):  # only ever sealed by ``encode_data``
        raise ValueError("a stored secret value is not a JSON object")
    return {str(k): str(v) for k, v in value.items()}


def merge_patch(current: Mapping[str, str], patch: object, field: str = "data") -> dict[str, str]:
    """JSON merge patch (RFC 7396) of a flat object: a field set to null is removed."""
    if not isinstance(patch, Mapping):
        raise ValidationError("a patch is a JSON object", field=field)
    merged = dict(current)
    removed = {normalize_field(k, field=field) for k, v in patch.items() if v is None}
    for name in removed:
        merged.pop(name, None)
    merged.update(check_data({k: v for k, v in patch.items() if v is not None}, field))
    return merged


def list_level(paths: list[str], folder: str) -> list[str]:
    """Vault LIST: the names one level below ``folder`` ("" for the mount's top),
    sorted; a name with more below it is a folder and ends with ``/``. A name can
    be both a secret and a folder, as in Vault."""
    start = f"{folder}/" if folder else ""
    names: set[str] = set()
    for path in paths:
        if not path.startswith(start) or path == folder:
            continue
        head, slash, _ = path[len(start) :].partition("/")
        names.add(head + slash)
    return sorted(names)


def subkeys(data: Mapping[str, str]) -> dict[str, Any]:
    """Vault's ``subkeys``: the value's structure with every leaf as null."""
    return dict.fromkeys(sorted(data))


__all__ = [
    "DEFAULT_MAX_VERSIONS",
    "KV_V2",
    "MAX_CUSTOM_METADATA",
    "MAX_DURATION_S",
    "MAX_FIELDS",
    "MAX_MAX_VERSIONS",
    "MAX_VERSION_BYTES",
    "MOUNT_KINDS",
    "TRANSIT",
    "MountConfig",
    "SealedVersion",
    "SecretMetadata",
    "SecretMount",
    "SecretRead",
    "SecretVersionGone",
    "SecretWritten",
    "VersionInfo",
    "VersionState",
    "check_custom_metadata",
    "check_data",
    "check_duration",
    "check_flag",
    "check_max_versions",
    "decode_data",
    "effective_cas_required",
    "effective_delete_after",
    "effective_max_versions",
    "encode_data",
    "list_level",
    "merge_patch",
    "setting_changes",
    "subkeys",
]
