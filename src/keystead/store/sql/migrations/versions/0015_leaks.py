"""Leak response: reported leaks (one per key) and leak policies.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ks_leaks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("token_type", sa.String(200)),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("exposed_at", Stamp),
        sa.Column("reported_at", Stamp, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("incident_id", sa.String(40)),
        sa.Column("reported_by", sa.String(80)),
        sa.UniqueConstraint("workspace_id", "key_id", name="uq_ks_leaks_key"),
    )
    op.create_index("ix_ks_leaks_workspace", "ks_leaks", ["workspace_id", "id"])
    op.create_table(
        "ks_leak_policies",
        sa.Column("workspace_id", sa.String(40), primary_key=True),
        sa.Column("api_id", sa.String(40), primary_key=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("grace_period_s", sa.BigInteger),
        sa.Column("replace", sa.Boolean, nullable=False),
        sa.Column("notify", sa.Boolean, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ks_leak_policies")
    op.drop_table("ks_leaks")
