"""Usage: drop the raw records' index on time alone.

Every raw row paid for five secondary indexes. The retention purge was the one
reader of ``ix_ks_usage_at``; it now deletes per workspace through
``ix_ks_usage_workspace_at`` (workspace_id, at), which also covers records
without a workspace (``workspace_id IS NULL``).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_ks_usage_at", table_name="ks_usage")


def downgrade() -> None:
    op.create_index("ix_ks_usage_at", "ks_usage", ["at"])
