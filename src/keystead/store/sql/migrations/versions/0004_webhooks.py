"""Webhooks: endpoints (secrets sealed), deliveries (the retry queue and the dead
letter) and every delivery attempt.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ks_webhooks",
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
    )
    op.create_index("ix_ks_webhooks_workspace", "ks_webhooks", ["workspace_id", "id"])
    op.create_table(
        "ks_deliveries",
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
    )
    op.create_index("ix_ks_deliveries_due", "ks_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_ks_deliveries_webhook", "ks_deliveries", ["webhook_id", "id"])
    op.create_index("ix_ks_deliveries_workspace", "ks_deliveries", ["workspace_id", "status", "id"])
    op.create_table(
        "ks_delivery_attempts",
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
    )
    op.create_index(
        "ix_ks_delivery_attempts_delivery", "ks_delivery_attempts", ["delivery_id", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_ks_delivery_attempts_delivery", "ks_delivery_attempts")
    op.drop_table("ks_delivery_attempts")
    op.drop_index("ix_ks_deliveries_workspace", "ks_deliveries")
    op.drop_index("ix_ks_deliveries_webhook", "ks_deliveries")
    op.drop_index("ix_ks_deliveries_due", "ks_deliveries")
    op.drop_table("ks_deliveries")
    op.drop_index("ix_ks_webhooks_workspace", "ks_webhooks")
    op.drop_table("ks_webhooks")
