"""The key list's filters: plan and environment page in id order.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ks_keys_plan_page", "ks_keys", ["workspace_id", "plan_id", "id"])
    op.create_index("ix_ks_keys_environment_page", "ks_keys", ["workspace_id", "environment", "id"])


def downgrade() -> None:
    op.drop_index("ix_ks_keys_environment_page", table_name="ks_keys")
    op.drop_index("ix_ks_keys_plan_page", table_name="ks_keys")
