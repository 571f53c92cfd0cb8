"""Stored secrets (KV version 2): mounts, secrets and their sealed versions.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ks_secret_mounts",
        sa.Column("workspace_id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("max_versions", sa.Integer, nullable=False),
        sa.Column("cas_required", sa.Boolean, nullable=False),
        sa.Column("delete_version_after", sa.BigInteger, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
    )
    op.create_table(
        "ks_secrets",
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
    op.create_table(
        "ks_secret_versions",
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
    )
    op.create_index("ix_ks_secret_versions_key_version", "ks_secret_versions", ["key_version"])


def downgrade() -> None:
    op.drop_table("ks_secret_versions")
    op.drop_table("ks_secrets")
    op.drop_table("ks_secret_mounts")
