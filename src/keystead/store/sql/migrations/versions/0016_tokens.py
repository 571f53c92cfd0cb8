"""Short-lived tokens: signing keys, denials, and each API's token policy.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)
Json = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "ks_token_signing_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("api_id", sa.String(40), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("public_jwk", Json),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("key_version", sa.Integer, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("retired_at", Stamp),
        sa.Column("publish_until", Stamp),
    )
    op.create_index(
        "ix_ks_token_signing_keys_api", "ks_token_signing_keys", ["api_id", "created_at"]
    )
    op.create_index(
        "ix_ks_token_signing_keys_key_version", "ks_token_signing_keys", ["key_version"]
    )
    if op.get_bind().dialect.name == "mysql":  # no partial index: a generated column
        from keystead.store.sql.mysql import CURRENT_SIGNING_KEY

        for statement in CURRENT_SIGNING_KEY.ddl():
            op.execute(statement)
    else:
        op.create_index(  # one signing key per API at a time
            "uq_ks_token_signing_keys_current",
            "ks_token_signing_keys",
            ["api_id"],
            unique=True,
            postgresql_where=sa.text("retired_at IS NULL"),
            sqlite_where=sa.text("retired_at IS NULL"),
        )
    op.create_table(
        "ks_token_denials",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("api_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("aud", sa.String(200)),
        sa.Column("not_before", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.UniqueConstraint("api_id", "kind", "subject", name="uq_ks_token_denials_subject"),
        sqlite_autoincrement=True,  # a seq is never given twice, even after a prune
    )
    op.create_index("ix_ks_token_denials_api_seq", "ks_token_denials", ["api_id", "seq"])
    with op.batch_alter_table("ks_apis") as batch:
        batch.add_column(sa.Column("token_policy", Json))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # in place: a batch copy trips the roles' FK
        op.execute("ALTER TABLE ks_apis DROP COLUMN token_policy")
    else:
        op.drop_column("ks_apis", "token_policy")
    op.drop_table("ks_token_denials")
    op.drop_table("ks_token_signing_keys")
