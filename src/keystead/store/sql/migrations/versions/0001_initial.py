"""Workspaces, root keys, APIs, roles and keys.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ks_settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "ks_workspaces",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_table(
        "ks_root_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("start", sa.String(48), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("permissions", Json, nullable=False),
        sa.Column("api_ids", Json),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("revoked_at", Stamp),
        sa.Column("created_by", sa.String(80)),
    )
    op.create_index("ix_ks_root_keys_workspace", "ks_root_keys", ["workspace_id", "id"])
    op.create_table(
        "ks_apis",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("key_defaults", Json, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.UniqueConstraint("workspace_id", "name", name="uq_ks_apis_workspace_name"),
    )
    op.create_table(
        "ks_roles",
        sa.Column(
            "api_id",
            sa.String(40),
            sa.ForeignKey("ks_apis.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("permissions", Json, nullable=False),
        sa.Column("description", sa.String(500)),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("api_id", "name", name="pk_ks_roles"),
    )
    op.create_table(
        "ks_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
        sa.Column("api_id", sa.String(40), sa.ForeignKey("ks_apis.id"), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("start", sa.String(48), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("owner_id", sa.String(200)),
        sa.Column("meta", Json, nullable=False),
        sa.Column("permissions", Json, nullable=False),
        sa.Column("roles", Json, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("environment", sa.String(32)),
        sa.Column("not_before", Stamp),
        sa.Column("expires_at", Stamp),
        sa.Column("restrictions", Json),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("last_used_at", Stamp),
        sa.Column("revoked_at", Stamp),
        sa.Column("created_by", sa.String(80)),
    )
    op.create_index("ix_ks_keys_workspace", "ks_keys", ["workspace_id", "id"])
    op.create_index("ix_ks_keys_api", "ks_keys", ["api_id", "id"])
    op.create_index("ix_ks_keys_owner", "ks_keys", ["workspace_id", "owner_id", "id"])


def downgrade() -> None:
    for table in ("ks_keys", "ks_roles", "ks_apis", "ks_root_keys", "ks_workspaces", "ks_settings"):
        op.drop_table(table)
