"""Leak reports and leak policies."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import Stamp, metadata

leaks = sa.Table(
    "ks_leaks",
    metadata,
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
    sa.Index("ix_ks_leaks_workspace", "workspace_id", "id"),
)

leak_policies = sa.Table(
    "ks_leak_policies",
    metadata,
    sa.Column("workspace_id", sa.String(40), primary_key=True),
    sa.Column("api_id", sa.String(40), primary_key=True),  # "": the workspace's own
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("grace_period_s", sa.BigInteger),
    sa.Column("replace", sa.Boolean, nullable=False),
    sa.Column("notify", sa.Boolean, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
)

__all__ = ["leak_policies", "leaks"]
