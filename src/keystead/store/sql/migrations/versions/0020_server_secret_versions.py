"""Versions of the server secret: the versions table, and the version each key's
and root key's stored hash was made under (docs/operations.md, "Rotating the
server secret"). Every existing hash is version 1, the secret file's.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ks_server_secret_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sealed", sa.LargeBinary),
        sa.Column("key_version", sa.Integer),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("activates_at", Stamp, nullable=False),
        sa.Column("retired_at", Stamp),
    )
    with op.batch_alter_table("ks_keys") as batch:
        batch.add_column(sa.Column("hash_version", sa.Integer, nullable=False, server_default="1"))
    op.create_index("ix_ks_keys_hash_version", "ks_keys", ["hash_version"])
    with op.batch_alter_table("ks_root_keys") as batch:
        batch.add_column(sa.Column("hash_version", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("ks_root_keys") as batch:
        batch.drop_column("hash_version")
    op.drop_index("ix_ks_keys_hash_version", table_name="ks_keys")
    with op.batch_alter_table("ks_keys") as batch:
        batch.drop_column("hash_version")
    op.drop_table("ks_server_secret_versions")
