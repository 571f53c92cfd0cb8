"""Browser sessions, one-time portal links and per-workspace portal branding.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
NullableJson = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ks_web_sessions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("area", sa.String(8), nullable=False),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("permissions", Json, nullable=False),
        sa.Column("api_ids", NullableJson),
        sa.Column("owner_id", sa.String(200)),
        sa.Column("root_key_id", sa.String(40)),
        sa.Column("return_url", sa.String(2048)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("idle_expires_at", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(512)),
    )
    op.create_index("ix_ks_web_sessions_expires", "ks_web_sessions", ["expires_at"])
    op.create_index("ix_ks_web_sessions_idle", "ks_web_sessions", ["idle_expires_at"])
    op.create_table(
        "ks_portal_links",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("owner_id", sa.String(200), nullable=False),
        sa.Column("permissions", Json, nullable=False),
        sa.Column("api_ids", NullableJson),
        sa.Column("return_url", sa.String(2048)),
        sa.Column("created_by", sa.String(300), nullable=False),
        sa.Column("root_key_id", sa.String(40)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("used_at", sa.Float),
    )
    op.create_index("ix_ks_portal_links_expires", "ks_portal_links", ["expires_at"])
    op.create_table(
        "ks_portal_branding",
        sa.Column("workspace_id", sa.String(40), primary_key=True),
        sa.Column("branding", Json, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ks_portal_branding")
    op.drop_table("ks_portal_links")
    op.drop_table("ks_web_sessions")
