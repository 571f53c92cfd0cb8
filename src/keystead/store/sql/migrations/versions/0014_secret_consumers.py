"""Secret lifecycle: who read which version (consumers), rotation policies per
secret and per mount, and the rotation notices already sent.

Revision ID: 0014
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def _secret_id() -> sa.Column[str]:
    return sa.Column(
        "secret_id",
        sa.String(40),
        sa.ForeignKey("ks_secrets.id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.create_table(
        "ks_secret_consumers",
        _secret_id(),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("credential", sa.String(80), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("first_read", Stamp, nullable=False),
        sa.Column("last_read", Stamp, nullable=False),
        sa.Column("reads", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "ks_secret_rotation",
        _secret_id(),
        sa.Column("max_age_s", sa.BigInteger, nullable=False),
        sa.Column("warn_before_s", sa.BigInteger, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
    )
    op.create_table(
        "ks_secret_mount_rotation",
        sa.Column("workspace_id", sa.String(40), primary_key=True),
        sa.Column("mount", sa.String(64), primary_key=True),
        sa.Column("max_age_s", sa.BigInteger, nullable=False),
        sa.Column("warn_before_s", sa.BigInteger, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
    )
    op.create_table(
        "ks_secret_rotation_notices",
        _secret_id(),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("notified_at", Stamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ks_secret_rotation_notices")
    op.drop_table("ks_secret_mount_rotation")
    op.drop_table("ks_secret_rotation")
    op.drop_table("ks_secret_consumers")
