"""Browser sessions, portal links and portal branding (migration 0017)."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import Json, NullableJson, metadata

web_sessions = sa.Table(
    "ks_web_sessions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("area", sa.String(8), nullable=False),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(300), nullable=False),
    sa.Column("permissions", Json, nullable=False),
    sa.Column("api_ids", NullableJson),
    sa.Column("owner_id", sa.String(200)),
    sa.Column("root_key_id", sa.String(40)),
    sa.Column("return_url", sa.String(2048)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("idle_expires_at", sa.Float, nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False),
    sa.Column("ip", sa.String(64)),
    sa.Column("user_agent", sa.String(512)),
    sa.Index("ix_ks_web_sessions_expires", "expires_at"),
    sa.Index("ix_ks_web_sessions_idle", "idle_expires_at"),
)

portal_links = sa.Table(
    "ks_portal_links",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("owner_id", sa.String(200), nullable=False),
    sa.Column("permissions", Json, nullable=False),
    sa.Column("api_ids", NullableJson),
    sa.Column("return_url", sa.String(2048)),
    sa.Column("created_by", sa.String(300), nullable=False),
    sa.Column("root_key_id", sa.String(40)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("used_at", sa.Float),
    sa.Index("ix_ks_portal_links_expires", "expires_at"),
)

portal_branding = sa.Table(
    "ks_portal_branding",
    metadata,
    sa.Column("workspace_id", sa.String(40), primary_key=True),
    sa.Column("branding", Json, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

__all__ = ["portal_branding", "portal_links", "web_sessions"]
