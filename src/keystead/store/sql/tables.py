"""SQLAlchemy Core tables. The Alembic migrations are the source of truth for
the schema; these mirror them for queries (a test checks they agree)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

Json = sa.JSON().with_variant(JSONB(), "postgresql")
NullableJson = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""JSON where Python None is SQL NULL (not JSON null), so ``IS NULL`` finds it."""
Stamp = sa.DateTime(timezone=True)

settings = sa.Table(
    "ks_settings",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

workspaces = sa.Table(
    "ks_workspaces",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
)

root_keys = sa.Table(
    "ks_root_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
    sa.Column("key_hash", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("start", sa.String(48), nullable=False),
    sa.Column("name", sa.String(200)),
    sa.Column("permissions", Json, nullable=False),
    sa.Column("api_ids", Json),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("revoked_at", Stamp),
    sa.Column("created_by", sa.String(80)),
    sa.Column("owner_id", sa.String(200)),
    sa.Index("ix_ks_root_keys_workspace", "workspace_id", "id"),
)

apis = sa.Table(
    "ks_apis",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("prefix", sa.String(32), nullable=False),
    sa.Column("key_defaults", Json, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("limits", Json),
    sa.Column("rotation_policy", NullableJson),
    sa.UniqueConstraint("workspace_id", "name", name="uq_ks_apis_workspace_name"),
)

roles = sa.Table(
    "ks_roles",
    metadata,
    sa.Column(
        "api_id", sa.String(40), sa.ForeignKey("ks_apis.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("permissions", Json, nullable=False),
    sa.Column("description", sa.String(500)),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.PrimaryKeyConstraint("api_id", "name", name="pk_ks_roles"),
)

keys = sa.Table(
    "ks_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
    sa.Column("api_id", sa.String(40), sa.ForeignKey("ks_apis.id"), nullable=False),
    sa.Column("key_hash", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("prefix", sa.String(32), nullable=False),
    sa.Column("start", sa.String(48), nullable=False),
    sa.Column("name", sa.String(200)),
    sa.Column("owner_id", sa.String(200)),
    sa.Column("meta", Json, nullable=False),
    sa.Column("permissions", Json, nullable=False),
    sa.Column("roles", Json, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("environment", sa.String(32)),
    sa.Column("not_before", Stamp),
    sa.Column("expires_at", Stamp),
    sa.Column("restrictions", Json),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("last_used_at", Stamp),
    sa.Column("revoked_at", Stamp),
    sa.Column("created_by", sa.String(80)),
    sa.Column("limits", Json),
    sa.Column("plan_id", sa.String(40), sa.ForeignKey("ks_plans.id", name="fk_ks_keys_plan")),
    sa.Column("credits_remaining", sa.BigInteger),
    sa.Column("rotated_from", sa.String(40)),
    sa.Column("rotated_to", sa.String(40)),
    sa.Column("lineage_id", sa.String(40)),
    sa.Column("rotation_policy", NullableJson),
    sa.Column("expiring_notified_at", Stamp),
    sa.Column("expired_notified_at", Stamp),
    sa.Index("ix_ks_keys_workspace", "workspace_id", "id"),
    sa.Index("ix_ks_keys_api", "api_id", "id"),
    sa.Index("ix_ks_keys_owner", "workspace_id", "owner_id", "id"),
    sa.Index("ix_ks_keys_plan", "plan_id"),
    sa.Index("ix_ks_keys_api_created", "api_id", "created_at"),
    sa.Index("ix_ks_keys_expires", "expires_at"),
    sa.Index(
        "ix_ks_keys_own_policy",
        "id",
        postgresql_where=sa.text("rotation_policy IS NOT NULL"),
        sqlite_where=sa.text("rotation_policy IS NOT NULL"),
    ),
)

plans = sa.Table(
    "ks_plans",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("limits", Json, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.UniqueConstraint("workspace_id", "name", name="uq_ks_plans_workspace_name"),
)

owners = sa.Table(
    "ks_owners",
    metadata,
    sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
    sa.Column("owner_id", sa.String(200), nullable=False),
    sa.Column("limits", Json, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("public_jwk", Json),
    sa.PrimaryKeyConstraint("workspace_id", "owner_id", name="pk_ks_owners"),
)

outbox = sa.Table(
    "ks_outbox",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("data", Json, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("dispatched_at", Stamp),
    sa.Index("ix_ks_outbox_pending", "dispatched_at", "id"),
    sa.Index("ix_ks_outbox_workspace", "workspace_id", "id"),
)

pickups = sa.Table(
    "ks_pickups",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("key_id", sa.String(40), nullable=False),
    sa.Column("owner_id", sa.String(200)),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("ciphertext", sa.LargeBinary),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("expires_at", Stamp, nullable=False),
    sa.Column("claimed_at", Stamp),
    sa.Column("claimed_by", sa.String(80)),
    sa.Index("ix_ks_pickups_owner", "workspace_id", "owner_id", "id"),
)

incidents = sa.Table(
    "ks_incidents",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("key_id", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("cause", Json, nullable=False),
    sa.Column("replacement_key_id", sa.String(40)),
    sa.Column("evidence", Json, nullable=False),
    sa.Column("notes", sa.Text),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("created_by", sa.String(80)),
    sa.Index("ix_ks_incidents_workspace", "workspace_id", "id"),
)

key_actions = sa.Table(
    "ks_key_actions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("key_id", sa.String(40), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("cause", Json, nullable=False),
    sa.Column("actor", sa.String(80)),
    sa.Column("result", Json, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Index("ix_ks_key_actions_key", "workspace_id", "key_id", "id"),
)

leases = sa.Table(
    "ks_leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(80), nullable=False),
    sa.Column("expires_at", Stamp, nullable=False),
)

webhooks = sa.Table(
    "ks_webhooks",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("events", Json, nullable=False),
    sa.Column("description", sa.String(500)),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("secret", sa.LargeBinary, nullable=False),
    sa.Column("old_secret", sa.LargeBinary),
    sa.Column("old_secret_expires_at", Stamp),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Index("ix_ks_webhooks_workspace", "workspace_id", "id"),
)

deliveries = sa.Table(
    "ks_deliveries",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column(
        "webhook_id",
        sa.String(40),
        sa.ForeignKey("ks_webhooks.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("event_id", sa.String(40), nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", Stamp),
    sa.Column("claim", sa.String(40)),
    sa.Column("last_attempt_at", Stamp),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.String(64)),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.UniqueConstraint("webhook_id", "event_id", name="uq_ks_deliveries_webhook_event"),
    sa.Index("ix_ks_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_ks_deliveries_webhook", "webhook_id", "id"),
    sa.Index("ix_ks_deliveries_workspace", "workspace_id", "status", "id"),
)

delivery_attempts = sa.Table(
    "ks_delivery_attempts",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column(
        "delivery_id",
        sa.String(40),
        sa.ForeignKey("ks_deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("attempted_at", Stamp, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.String(64)),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("response_body", sa.Text),
    sa.Column("succeeded", sa.Boolean, nullable=False),
    sa.Index("ix_ks_delivery_attempts_delivery", "delivery_id", "id"),
)

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

__all__ = [
    "apis",
    "audit",
    "audit_checkpoints",
    "audit_heads",
    "deliveries",
    "delivery_attempts",
    "incidents",
    "key_actions",
    "keys",
    "leases",
    "metadata",
    "outbox",
    "owners",
    "pickups",
    "plans",
    "roles",
    "root_keys",
    "settings",
    "webhooks",
    "workspaces",
]

# usage records and rollups (migration 0006) -----------------------------------
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
    sa.Index("ix_ks_usage_at", "at"),  # retention purge
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
    sa.Index("ix_ks_usage_rollups_bucket", "granularity", "bucket"),
)

__all__ += ["usage", "usage_rollups"]

# analytics (migration 0007) ----------------------------------------------------
sa.Index("ix_ks_usage_api_at", usage.c.api_id, usage.c.at)
sa.Index("ix_ks_usage_owner_at", usage.c.owner_id, usage.c.at)

# alerts (migration 0008) -------------------------------------------------------
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

__all__ += ["alert_rules", "alerts"]
