"""Key lifecycle: rotation links and policies, the event outbox, pickups of
rotated keys, incidents, recorded actions and scheduler leases.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("ks_keys") as batch:
        batch.add_column(sa.Column("rotated_from", sa.String(40)))
        batch.add_column(sa.Column("rotated_to", sa.String(40)))
        batch.add_column(sa.Column("lineage_id", sa.String(40)))
        batch.add_column(sa.Column("rotation_policy", Json))
        batch.add_column(sa.Column("expiring_notified_at", Stamp))
        batch.add_column(sa.Column("expired_notified_at", Stamp))
        batch.create_index("ix_ks_keys_api_created", ["api_id", "created_at"])
        batch.create_index("ix_ks_keys_expires", ["expires_at"])
        # the few keys with a policy of their own, which the scheduler reads every pass
        batch.create_index(
            "ix_ks_keys_own_policy",
            ["id"],
            postgresql_where=sa.text("rotation_policy IS NOT NULL"),
            sqlite_where=sa.text("rotation_policy IS NOT NULL"),
        )
    with op.batch_alter_table("ks_apis") as batch:
        batch.add_column(sa.Column("rotation_policy", Json))
    with op.batch_alter_table("ks_owners") as batch:
        batch.add_column(sa.Column("public_jwk", Json))
    with op.batch_alter_table("ks_root_keys") as batch:
        batch.add_column(sa.Column("owner_id", sa.String(200)))
    op.create_table(
        "ks_outbox",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("dispatched_at", Stamp),
    )
    op.create_index("ix_ks_outbox_pending", "ks_outbox", ["dispatched_at", "id"])
    op.create_index("ix_ks_outbox_workspace", "ks_outbox", ["workspace_id", "id"])
    op.create_table(
        "ks_pickups",
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
    )
    op.create_index("ix_ks_pickups_owner", "ks_pickups", ["workspace_id", "owner_id", "id"])
    op.create_table(
        "ks_incidents",
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
    )
    op.create_index("ix_ks_incidents_workspace", "ks_incidents", ["workspace_id", "id"])
    op.create_table(
        "ks_key_actions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("cause", Json, nullable=False),
        sa.Column("actor", sa.String(80)),
        sa.Column("result", Json, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
    )
    op.create_index("ix_ks_key_actions_key", "ks_key_actions", ["workspace_id", "key_id", "id"])
    op.create_table(
        "ks_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(80), nullable=False),
        sa.Column("expires_at", Stamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ks_leases")
    op.drop_index("ix_ks_key_actions_key", "ks_key_actions")
    op.drop_table("ks_key_actions")
    op.drop_index("ix_ks_incidents_workspace", "ks_incidents")
    op.drop_table("ks_incidents")
    op.drop_index("ix_ks_pickups_owner", "ks_pickups")
    op.drop_table("ks_pickups")
    op.drop_index("ix_ks_outbox_workspace", "ks_outbox")
    op.drop_index("ix_ks_outbox_pending", "ks_outbox")
    op.drop_table("ks_outbox")
    with op.batch_alter_table("ks_root_keys") as batch:
        batch.drop_column("owner_id")
    with op.batch_alter_table("ks_owners") as batch:
        batch.drop_column("public_jwk")
    with op.batch_alter_table("ks_apis") as batch:
        batch.drop_column("rotation_policy")
    with op.batch_alter_table("ks_keys") as batch:
        batch.drop_index("ix_ks_keys_own_policy")
        batch.drop_index("ix_ks_keys_expires")
        batch.drop_index("ix_ks_keys_api_created")
        for name in (
            "expired_notified_at",
            "expiring_notified_at",
            "rotation_policy",
            "lineage_id",
            "rotated_to",
            "rotated_from",
        ):
            batch.drop_column(name)
