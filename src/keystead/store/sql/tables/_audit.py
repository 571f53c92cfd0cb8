"""The audit chain, its heads and signed checkpoints (migration 0005)."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import Stamp, metadata

audit = sa.Table(
    "ks_audit",
    metadata,
    sa.Column("workspace_id", sa.String(40), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("id", sa.String(40), nullable=False),
    sa.Column("at", Stamp, nullable=False),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("ip", sa.String(64)),
    sa.Column("user_agent", sa.String(512)),
    sa.Column("request_id", sa.String(128)),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(32), nullable=False),
    sa.Column("target_id", sa.Text),
    sa.Column("changes", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_ks_audit_at", "workspace_id", "at"),
)

audit_heads = sa.Table(
    "ks_audit_heads",
    metadata,
    sa.Column("workspace_id", sa.String(40), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

audit_checkpoints = sa.Table(
    "ks_audit_checkpoints",
    metadata,
    sa.Column("workspace_id", sa.String(40), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("at", Stamp, nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
)

__all__ = ["audit", "audit_checkpoints", "audit_heads"]
