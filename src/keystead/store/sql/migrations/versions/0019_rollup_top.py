"""The workspace's busiest keys and owners: one scope's rollups of one granularity
in a time range, across scope ids (on PostgreSQL an index-only scan).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_ks_usage_rollups_top",
        "ks_usage_rollups",
        ["workspace_id", "scope", "granularity", "bucket"],
        postgresql_include=["scope_id", "count"],
    )


def downgrade() -> None:
    op.drop_index("ix_ks_usage_rollups_top", table_name="ks_usage_rollups")
