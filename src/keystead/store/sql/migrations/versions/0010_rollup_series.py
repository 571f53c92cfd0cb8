"""Usage rollups: stored distinct counts and a covering index for series.

A series bucket needs a rollup's counts, not its sketches: each row now keeps
``distinct_ips`` and ``distinct_user_agents`` (what its sketches count; NULL
on rows written before this revision, which are then counted from their
sketches). On PostgreSQL ``ix_ks_usage_rollups_series`` carries every figure a
bucket shows, so a series is an index-only scan over neighbouring leaf pages.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_FIGURES = [
    "count",
    "codes",
    "statuses",
    "latency",
    "bytes_in",
    "bytes_out",
    "distinct_ips",
    "distinct_user_agents",
]


def upgrade() -> None:
    op.add_column("ks_usage_rollups", sa.Column("distinct_ips", sa.BigInteger))
    op.add_column("ks_usage_rollups", sa.Column("distinct_user_agents", sa.BigInteger))
    op.create_index(
        "ix_ks_usage_rollups_series",
        "ks_usage_rollups",
        ["workspace_id", "scope", "scope_id", "granularity", "bucket"],
        postgresql_include=_FIGURES,
    )


def downgrade() -> None:
    op.drop_index("ix_ks_usage_rollups_series", table_name="ks_usage_rollups")
    with op.batch_alter_table("ks_usage_rollups") as batch:
        batch.drop_column("distinct_user_agents")
        batch.drop_column("distinct_ips")
