"""Analytics: indexes on raw usage records by API and by owner, over time.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ks_usage_api_at", "ks_usage", ["api_id", "at"])
    op.create_index("ix_ks_usage_owner_at", "ks_usage", ["owner_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_ks_usage_owner_at", table_name="ks_usage")
    op.drop_index("ix_ks_usage_api_at", table_name="ks_usage")
