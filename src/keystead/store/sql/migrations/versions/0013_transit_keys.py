"""Transit: named encryption keys and their sealed versions.

Revision ID: 0013
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ks_transit_keys",
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
    op.create_table(
        "ks_transit_key_versions",
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
    )
    op.create_index(
        "ix_ks_transit_key_versions_key_version", "ks_transit_key_versions", ["key_version"]
    )


def downgrade() -> None:
    op.drop_table("ks_transit_key_versions")
    op.drop_table("ks_transit_keys")
