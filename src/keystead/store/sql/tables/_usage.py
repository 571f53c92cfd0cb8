"""Usage records and rollups (migration 0006), analytics indexes (0007); the
retention purge reads ``ix_ks_usage_workspace_at`` (0009 dropped the index on
``at`` alone); rollups carry their distinct counts and a covering series index
(0010)."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import Json, Stamp, metadata

UsageId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: rowid alias

usage = sa.Table(
    "ks_usage",
    metadata,
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
    sa.Index("ix_ks_usage_key_at", "key_id", "at"),
    sa.Index("ix_ks_usage_workspace_at", "workspace_id", "at"),
)

usage_rollups = sa.Table(
    "ks_usage_rollups",
    metadata,
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
    sa.Column("distinct_ips", sa.BigInteger),
    sa.Column("distinct_user_agents", sa.BigInteger),
    sa.Index("ix_ks_usage_rollups_bucket", "granularity", "bucket"),
)

SERIES_FIGURES = (
    "count",
    "codes",
    "statuses",
    "latency",
    "bytes_in",
    "bytes_out",
    "distinct_ips",
    "distinct_user_agents",
)
"""What a series bucket reads: everything but the sketches."""

# A series reads one scope's buckets in order: on PostgreSQL an index-only scan
# of this index (its leaf pages hold one scope's buckets side by side) instead
# of one heap page per bucket (rows of one scope are written among all others').
sa.Index(
    "ix_ks_usage_rollups_series",
    usage_rollups.c.workspace_id,
    usage_rollups.c.scope,
    usage_rollups.c.scope_id,
    usage_rollups.c.granularity,
    usage_rollups.c.bucket,
    postgresql_include=list(SERIES_FIGURES),
)


sa.Index("ix_ks_usage_api_at", usage.c.api_id, usage.c.at)
sa.Index("ix_ks_usage_owner_at", usage.c.owner_id, usage.c.at)

# The workspace's busiest keys or owners add up one scope's hour rollups over a
# time range, across scope ids (0019): an index-only scan on PostgreSQL.
sa.Index(
    "ix_ks_usage_rollups_top",
    usage_rollups.c.workspace_id,
    usage_rollups.c.scope,
    usage_rollups.c.granularity,
    usage_rollups.c.bucket,
    postgresql_include=["scope_id", "count"],
)

__all__ = ["SERIES_FIGURES", "usage", "usage_rollups"]
