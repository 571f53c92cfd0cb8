"""Transit keys and their versions (migration 0013).

A version holds the envelope's byte form of its key material
(``keystead.core.envelope``), never the material, and the master-key version that
wraps it in an indexed column of its own, as stored secret versions do."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import Stamp, metadata

transit_keys = sa.Table(
    "ks_transit_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("mount", sa.String(64), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("latest_version", sa.Integer, nullable=False),
    sa.Column("min_decryption_version", sa.Integer, nullable=False),
    sa.Column("min_encryption_version", sa.Integer, nullable=False),
    sa.Column("deletion_allowed", sa.Boolean, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.UniqueConstraint("workspace_id", "mount", "name", name="uq_ks_transit_keys_name"),
)

transit_key_versions = sa.Table(
    "ks_transit_key_versions",
    metadata,
    sa.Column(
        "key_id",
        sa.String(40),
        sa.ForeignKey("ks_transit_keys.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("key_version", sa.Integer, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Index("ix_ks_transit_key_versions_key_version", "key_version"),
)

__all__ = ["transit_key_versions", "transit_keys"]
