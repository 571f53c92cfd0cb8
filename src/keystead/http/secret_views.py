"""Response bodies of the stored secrets' routes, built from ``core.secrets`` records.

Only ``SecretOut`` carries a value (``data``), answered to a reader holding
``secrets.read`` on the path; every other body is metadata.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from keystead.core.secrets import (
    SecretMetadata,
    SecretMount,
    SecretRead,
    SecretVersionGone,
    SecretWritten,
    VersionInfo,
)
from keystead.http.views import Timestamp, iso, iso_or_none


class MountConfigOut(BaseModel):
    max_versions: int = Field(description="versions kept (0: the default, 10)")
    cas_required: bool
    delete_version_after: int = Field(description="seconds (0: never)")


class MountOut(BaseModel):
    name: str
    kind: str
    config: MountConfigOut
    created_at: Timestamp
    updated_at: Timestamp


class MountList(BaseModel):
    items: list[MountOut]


class VersionOut(BaseModel):
    """One version's metadata (never its value)."""

    version: int
    created_time: Timestamp
    deletion_time: Timestamp | None = Field(
        description="when it was (or will be) soft-deleted; null: never"
    )
    destroyed: bool


class VersionMetadataOut(VersionOut):
    custom_metadata: dict[str, str] = Field(description="the secret's custom_metadata")


class SecretOut(BaseModel):
    mount: str
    path: str
    data: dict[str, str] = Field(repr=False, description="the version's fields")
    metadata: VersionMetadataOut


class WrittenOut(BaseModel):
    mount: str
    path: str
    metadata: VersionMetadataOut = Field(description="the version the write made")


class SubkeysOut(BaseModel):
    mount: str
    path: str
    subkeys: dict[str, None] = Field(description="the field names, each with a null value")
    metadata: VersionMetadataOut


class SecretMetadataOut(BaseModel):
    mount: str
    path: str
    created_time: Timestamp
    updated_time: Timestamp
    current_version: int = Field(description="0 while no version was written")
    oldest_version: int = Field(description="the oldest version kept (0: none)")
    max_versions: int = Field(description="0: the mount's")
    cas_required: bool
    delete_version_after: int = Field(description="seconds (0: the mount's)")
    custom_metadata: dict[str, str]
    versions: list[VersionOut] = Field(description="every version kept, oldest first")


class KeyList(BaseModel):
    keys: list[str] = Field(description="names one level down; a folder ends with '/'")


def mount_out(mount: SecretMount) -> MountOut:
    config = mount.config
    return MountOut(
        name=mount.name,
        kind=mount.kind,
        config=MountConfigOut(
            max_versions=config.max_versions,
            cas_required=config.cas_required,
            delete_version_after=config.delete_version_after,
        ),
        created_at=mount.created_at,
        updated_at=mount.updated_at,
    )


def version_out(info: VersionInfo) -> VersionOut:
    return VersionOut(
        version=info.version,
        created_time=info.created_time,
        deletion_time=info.deletion_time,
        destroyed=info.destroyed,
    )


def version_metadata(info: VersionInfo, secret: SecretMetadata) -> VersionMetadataOut:
    return VersionMetadataOut(
        **version_out(info).model_dump(), custom_metadata=dict(secret.custom_metadata)
    )


def secret_out(read: SecretRead) -> SecretOut:
    secret = read.metadata
    return SecretOut(
        mount=secret.mount,
        path=secret.path,
        data=read.data,
        metadata=version_metadata(read.version, secret),
    )


def written_out(written: SecretWritten) -> WrittenOut:
    secret = written.metadata
    return WrittenOut(
        mount=secret.mount, path=secret.path, metadata=version_metadata(written.version, secret)
    )


def subkeys_out(subkeys: dict[str, Any], read: SecretRead) -> SubkeysOut:
    secret = read.metadata
    return SubkeysOut(
        mount=secret.mount,
        path=secret.path,
        subkeys=dict.fromkeys(subkeys),
        metadata=version_metadata(read.version, secret),
    )


def metadata_out(secret: SecretMetadata) -> SecretMetadataOut:
    return SecretMetadataOut(
        mount=secret.mount,
        path=secret.path,
        created_time=secret.created_time,
        updated_time=secret.updated_time,
        current_version=secret.current_version,
        oldest_version=secret.oldest_version,
        max_versions=secret.max_versions,
        cas_required=secret.cas_required,
        delete_version_after=secret.delete_version_after,
        custom_metadata=dict(secret.custom_metadata),
        versions=[version_out(v) for v in secret.versions],
    )


def gone_extra(exc: SecretVersionGone) -> dict[str, Any]:
    """What a 404 for a deleted or destroyed version adds to the problem: the
    version's metadata (as a read's ``metadata``) and its ``state``."""
    info = exc.version
    return {
        "state": exc.state,
        "metadata": {
            "version": info.version,
            "created_time": iso(info.created_time),
            "deletion_time": iso_or_none(info.deletion_time),
            "destroyed": info.destroyed,
            "custom_metadata": dict(exc.metadata.custom_metadata),
        },
    }


__all__ = [
    "KeyList",
    "MountList",
    "MountOut",
    "SecretMetadataOut",
    "SecretOut",
    "SubkeysOut",
    "VersionMetadataOut",
    "VersionOut",
    "WrittenOut",
    "gone_extra",
    "metadata_out",
    "mount_out",
    "secret_out",
    "subkeys_out",
    "written_out",
]
