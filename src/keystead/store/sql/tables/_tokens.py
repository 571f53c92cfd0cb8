"""Token signing keys and token denials (migration 0016).

A signing key's private material is stored sealed (``core.at_rest`` envelope
form), with the master-key version that wraps it in a column of its own."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import NullableJson, Stamp, metadata

token_signing_keys = sa.Table(
    "ks_token_signing_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("api_id", sa.String(40), nullable=False),
    sa.Column("algorithm", sa.String(16), nullable=False),
    sa.Column("public_jwk", NullableJson),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("key_version", sa.Integer, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("retired_at", Stamp),
    sa.Column("publish_until", Stamp),
    sa.Index("ix_ks_token_signing_keys_api", "api_id", "created_at"),
    sa.Index("ix_ks_token_signing_keys_key_version", "key_version"),
    sa.Index(
        "uq_ks_token_signing_keys_current",
        "api_id",
        unique=True,
        postgresql_where=sa.text("retired_at IS NULL"),
        sqlite_where=sa.text("retired_at IS NULL"),
    ),
)

token_denials = sa.Table(
    "ks_token_denials",
    metadata,
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
    sa.Index("ix_ks_token_denials_api_seq", "api_id", "seq"),
    sqlite_autoincrement=True,
)

__all__ = ["token_denials", "token_signing_keys"]
