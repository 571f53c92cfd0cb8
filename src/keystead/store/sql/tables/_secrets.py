"""Stored secrets: mounts, secrets and their versions (migration 0011).

A version holds the envelope's byte form (``keystead.core.envelope``), never a
plaintext, and the master-key version that wraps its data key in a column of its
own, indexed, so a rewrap or ``master-key status`` finds what an old master-key
version still protects without reading the sealed bytes."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import Json, Stamp, metadata

secret_mounts = sa.Table(
    "ks_secret_mounts",
    metadata,
    sa.Column("workspace_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("max_versions", sa.Integer, nullable=False),
    sa.Column("cas_required", sa.Boolean, nullable=False),
    sa.Column("delete_version_after", sa.BigInteger, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
)

secrets = sa.Table(
    "ks_secrets",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("mount", sa.String(64), nullable=False),
    sa.Column("path", sa.String(512), nullable=False),
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("oldest_version", sa.Integer, nullable=False),
    sa.Column("max_versions", sa.Integer, nullable=False),
    sa.Column("cas_required", sa.Boolean, nullable=False),
    sa.Column("delete_version_after", sa.BigInteger, nullable=False),
    sa.Column("custom_metadata", Json, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.UniqueConstraint("workspace_id", "mount", "path", name="uq_ks_secrets_path"),
)

secret_versions = sa.Table(
    "ks_secret_versions",
    metadata,
    sa.Column(
        "secret_id",
        sa.String(40),
        sa.ForeignKey("ks_secrets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("sealed", sa.LargeBinary),
    sa.Column("key_version", sa.Integer),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("deletion_time", Stamp),
    sa.Column("destroyed", sa.Boolean, nullable=False),
    sa.Index("ix_ks_secret_versions_key_version", "key_version"),
)

__all__ = ["secret_mounts", "secret_versions", "secrets"]
