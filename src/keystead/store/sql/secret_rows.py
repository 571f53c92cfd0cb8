"""Rows of the secret tables to records. SQLite returns naive datetimes: they are UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from keystead.core.secrets import (
    MountConfig,
    SealedVersion,
    SecretMetadata,
    SecretMount,
    VersionInfo,
)
from keystead.store.sql.rows import aware
from keystead.store.sql.tables import secret_versions

INFO_COLUMNS = [c for c in secret_versions.c if c.name != "sealed"]
"""What version metadata reads: everything but the sealed bytes."""


def mount(row: sa.Row[Any]) -> SecretMount:
    return SecretMount(
        workspace_id=row.workspace_id,
        name=row.name,
        kind=row.kind,
        config=MountConfig(
            max_versions=int(row.max_versions),
            cas_required=bool(row.cas_required),
            delete_version_after=int(row.delete_version_after),
        ),
        created_at=_at(row.created_at),
        updated_at=_at(row.updated_at),
    )


def mount_values(item: SecretMount) -> dict[str, Any]:
    return {
        "workspace_id": item.workspace_id,
        "name": item.name,
        "kind": item.kind,
        **config_values(item.config),
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def config_values(config: MountConfig) -> dict[str, Any]:
    return {
        "max_versions": config.max_versions,
        "cas_required": config.cas_required,
        "delete_version_after": config.delete_version_after,
    }


def info(row: sa.Row[Any]) -> VersionInfo:
    return VersionInfo(
        version=int(row.version),
        created_time=_at(row.created_at),
        deletion_time=aware(row.deletion_time),
        destroyed=bool(row.destroyed),
        key_version=None if row.key_version is None else int(row.key_version),
    )


def sealed_version(row: sa.Row[Any]) -> SealedVersion:
    return SealedVersion(info(row), None if row.sealed is None else bytes(row.sealed))


def joined_version(row: sa.Row[Any]) -> SealedVersion:
    """A version read joined to its secret's row (columns prefixed ``v_``)."""
    info = VersionInfo(
        version=int(row.v_version),
        created_time=_at(row.v_created_at),
        deletion_time=aware(row.v_deletion_time),
        destroyed=bool(row.v_destroyed),
        key_version=None if row.v_key_version is None else int(row.v_key_version),
    )
    return SealedVersion(info, None if row.v_sealed is None else bytes(row.v_sealed))


def secret(row: sa.Row[Any], versions: tuple[VersionInfo, ...]) -> SecretMetadata:
    return SecretMetadata(
        id=row.id,
        workspace_id=row.workspace_id,
        mount=row.mount,
        path=row.path,
        created_time=_at(row.created_at),
        updated_time=_at(row.updated_at),
        current_version=int(row.current_version),
        oldest_version=int(row.oldest_version),
        max_versions=int(row.max_versions),
        cas_required=bool(row.cas_required),
        delete_version_after=int(row.delete_version_after),
        custom_metadata=dict(row.custom_metadata),
        versions=versions,
    )


def settings_values(item: SecretMetadata) -> dict[str, Any]:
    """The settings a metadata write changes."""
    return {
        "max_versions": item.max_versions,
        "cas_required": item.cas_required,
        "delete_version_after": item.delete_version_after,
        "custom_metadata": dict(item.custom_metadata),
        "updated_at": item.updated_time,
    }


def secret_values(item: SecretMetadata) -> dict[str, Any]:
    return {
        "id": item.id,
        "workspace_id": item.workspace_id,
        "mount": item.mount,
        "path": item.path,
        "current_version": item.current_version,
        "oldest_version": item.oldest_version,
        "created_at": item.created_time,
        **settings_values(item),
    }


def version_values(secret_id: str, item: SealedVersion) -> dict[str, Any]:
    return {
        "secret_id": secret_id,
        "version": item.info.version,
        "sealed": item.sealed,
        "key_version": item.info.key_version,
        "created_at": item.info.created_time,
        "deletion_time": item.info.deletion_time,
        "destroyed": item.info.destroyed,
    }


def _at(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


__all__ = [
    "INFO_COLUMNS",
    "config_values",
    "info",
    "joined_version",
    "mount",
    "mount_values",
    "sealed_version",
    "secret",
    "secret_values",
    "settings_values",
    "version_values",
]
