"""Webhook secrets and sealed pickups under the master key: the master-key
version that wraps each one, in a column of its own (NULL: the legacy form
sealed under a key derived from the server secret, or no sealed item).

Alembic runs without the keyring, so the rows themselves are converted by the
service when it opens with a master key (``keystead.service.sealed_material``).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ks_webhooks") as batch:
        batch.add_column(sa.Column("key_version", sa.Integer))
        batch.add_column(sa.Column("old_key_version", sa.Integer))
    with op.batch_alter_table("ks_pickups") as batch:
        batch.add_column(sa.Column("key_version", sa.Integer))
    op.create_index("ix_ks_webhooks_key_version", "ks_webhooks", ["key_version"])
    op.create_index("ix_ks_webhooks_old_key_version", "ks_webhooks", ["old_key_version"])
    op.create_index("ix_ks_pickups_key_version", "ks_pickups", ["key_version"])


def downgrade() -> None:
    op.drop_index("ix_ks_pickups_key_version", "ks_pickups")
    op.drop_index("ix_ks_webhooks_old_key_version", "ks_webhooks")
    op.drop_index("ix_ks_webhooks_key_version", "ks_webhooks")
    with op.batch_alter_table("ks_pickups") as batch:
        batch.drop_column("key_version")
    with op.batch_alter_table("ks_webhooks") as batch:
        batch.drop_column("old_key_version")
        batch.drop_column("key_version")
