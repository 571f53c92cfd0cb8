"""Plans, owners, and limit sets on keys and APIs.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ks_plans",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("limits", Json, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.UniqueConstraint("workspace_id", "name", name="uq_ks_plans_workspace_name"),
    )
    op.create_table(
        "ks_owners",
        sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
        sa.Column("owner_id", sa.String(200), nullable=False),
        sa.Column("limits", Json, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "owner_id", name="pk_ks_owners"),
    )
    with op.batch_alter_table("ks_keys") as batch:
        batch.add_column(sa.Column("limits", Json))
        batch.add_column(sa.Column("plan_id", sa.String(40)))
        batch.add_column(sa.Column("credits_remaining", sa.BigInteger))
        batch.create_foreign_key("fk_ks_keys_plan", "ks_plans", ["plan_id"], ["id"])
        batch.create_index("ix_ks_keys_plan", ["plan_id"])
    with op.batch_alter_table("ks_apis") as batch:
        batch.add_column(sa.Column("limits", Json))


def downgrade() -> None:
    with op.batch_alter_table("ks_apis") as batch:
        batch.drop_column("limits")
    with op.batch_alter_table("ks_keys") as batch:
        batch.drop_index("ix_ks_keys_plan")
        batch.drop_constraint("fk_ks_keys_plan", type_="foreignkey")
        batch.drop_column("credits_remaining")
        batch.drop_column("plan_id")
        batch.drop_column("limits")
    op.drop_table("ks_owners")
    op.drop_table("ks_plans")
