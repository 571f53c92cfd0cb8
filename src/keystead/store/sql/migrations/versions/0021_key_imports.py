"""Imported keys: the import's external id per workspace, and the legacy hash a key
keeps until its first use, found by one indexed lookup (docs/operations.md,
"Importing keys").

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ks_key_imports",
        sa.Column(
            "key_id",
            sa.String(40),
            sa.ForeignKey("ks_keys.id", ondelete="CASCADE", name="fk_ks_key_imports_key"),
            primary_key=True,
        ),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("external_id", sa.String(200)),
        sa.Column("scheme", sa.String(32), nullable=False),
        sa.Column("lookup", sa.String(64), unique=True),
        sa.Column("legacy_hash", sa.LargeBinary),
        # a key in Keystead's shape routes to the imported-key lookup only when its
        # prefix is one of these ("" for keys whose prefix is unknown); NULL: never
        sa.Column("shaped_prefix", sa.String(32)),
        sa.Column("imported_at", Stamp, nullable=False),
        sa.Column("rehashed_at", Stamp),
        sa.UniqueConstraint("workspace_id", "external_id", name="uq_ks_key_imports_external"),
    )


def downgrade() -> None:
    op.drop_table("ks_key_imports")
