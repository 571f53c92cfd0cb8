"""Usage: raw usage records and their rollups per key, owner and API.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Stamp = sa.DateTime(timezone=True)
UsageId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ks_usage",
        sa.Column("id", UsageId, primary_key=True, autoincrement=True),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("workspace_id", sa.String(40)),
        sa.Column("api_id", sa.String(40)),
        sa.Column("key_id", sa.String(40)),
        sa.Column("owner_id", sa.String(200)),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("ip", sa.String(64)),
        sa.Column("country", sa.String(2)),
        sa.Column("user_agent", sa.String(512)),
        sa.Column("method", sa.String(16)),
        sa.Column("path", sa.String(1024)),
        sa.Column("status", sa.Integer),
        sa.Column("response_ms", sa.Float),
        sa.Column("bytes_in", sa.BigInteger),
        sa.Column("bytes_out", sa.BigInteger),
        sa.Column("tags", Json, nullable=False),
    )
    op.create_index("ix_ks_usage_key_at", "ks_usage", ["key_id", "at"])
    op.create_index("ix_ks_usage_workspace_at", "ks_usage", ["workspace_id", "at"])
    op.create_index("ix_ks_usage_at", "ks_usage", ["at"])
    op.create_table(
        "ks_usage_rollups",
        sa.Column("workspace_id", sa.String(40), primary_key=True),
        sa.Column("scope", sa.String(8), primary_key=True),
        sa.Column("scope_id", sa.String(200), primary_key=True),
        sa.Column("granularity", sa.String(8), primary_key=True),
        sa.Column("bucket", sa.BigInteger, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("codes", Json, nullable=False),
        sa.Column("statuses", Json, nullable=False),
        sa.Column("latency", Json, nullable=False),
        sa.Column("bytes_in", sa.BigInteger, nullable=False),
        sa.Column("bytes_out", sa.BigInteger, nullable=False),
        sa.Column("ips", sa.LargeBinary, nullable=False),
        sa.Column("user_agents", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_ks_usage_rollups_bucket", "ks_usage_rollups", ["granularity", "bucket"])


def downgrade() -> None:
    op.drop_table("ks_usage_rollups")
    op.drop_table("ks_usage")
