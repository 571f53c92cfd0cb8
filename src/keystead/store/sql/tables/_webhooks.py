"""Webhooks, their deliveries and delivery attempts (migration 0004)."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import Json, Stamp, metadata

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
    sa.Column("key_version", sa.Integer),  # migration 0012: see core/at_rest.py
    sa.Column("old_key_version", sa.Integer),
    sa.Index("ix_ks_webhooks_workspace", "workspace_id", "id"),
    sa.Index("ix_ks_webhooks_key_version", "key_version"),
    sa.Index("ix_ks_webhooks_old_key_version", "old_key_version"),
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

__all__ = ["deliveries", "delivery_attempts", "webhooks"]
