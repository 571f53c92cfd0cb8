"""The versions of the server secret that keys are hashed under (0020)."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import Stamp, metadata

server_secret_versions = sa.Table(
    "ks_server_secret_versions",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    # versions 2 and up: 32 random bytes sealed under the master key; NULL for
    # version 1 (the secret file or KEYSTEAD_SECRET) and once retired
    sa.Column("sealed", sa.LargeBinary),
    sa.Column("key_version", sa.Integer),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("activates_at", Stamp, nullable=False),
    sa.Column("retired_at", Stamp),
)

__all__ = ["server_secret_versions"]
