"""Alert rules and alerts (migration 0008)."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import Json, NullableJson, Stamp, metadata

alert_rules = sa.Table(
    "ks_alert_rules",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("window_minutes", sa.Integer, nullable=False),
    sa.Column("metric", sa.String(32)),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("scope_id", sa.String(200)),
    sa.Column("comparator", sa.String(4)),
    sa.Column("value", sa.Float),
    sa.Column("baseline_days", sa.Integer, nullable=False),
    sa.Column("action", sa.String(16)),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Index("ix_ks_alert_rules_workspace", "workspace_id", "id"),
)

alerts = sa.Table(
    "ks_alerts",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("rule_id", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("scope_id", sa.String(200), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("evidence", Json, nullable=False),
    sa.Column("dedupe_key", sa.String(300), nullable=False),
    sa.Column("open_key", sa.String(300)),  # dedupe_key while unresolved, else NULL
    sa.Column("first_seen", Stamp, nullable=False),
    sa.Column("last_seen", Stamp, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("acknowledged_by", sa.String(80)),
    sa.Column("acknowledged_at", Stamp),
    sa.Column("resolved_at", Stamp),
    sa.Column("action", NullableJson),
    sa.UniqueConstraint("workspace_id", "open_key", name="uq_ks_alerts_open_key"),
    sa.Index("ix_ks_alerts_workspace", "workspace_id", "id"),
)

__all__ = ["alert_rules", "alerts"]
