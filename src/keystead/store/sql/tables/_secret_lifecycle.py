"""Secret lifecycle (migration 0014): consumers, rotation policies and notices.

Every table but the mount defaults hangs off ``ks_secrets`` with ``ON DELETE
CASCADE``: deleting a secret's metadata removes who read it, its policy and the
notices sent about it."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import Stamp, metadata


def _secret_id() -> sa.Column[str]:
    return sa.Column(
        "secret_id",
        sa.String(40),
        sa.ForeignKey("ks_secrets.id", ondelete="CASCADE"),
        primary_key=True,
    )


secret_consumers = sa.Table(
    "ks_secret_consumers",
    metadata,
    _secret_id(),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("credential", sa.String(80), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("first_read", Stamp, nullable=False),
    sa.Column("last_read", Stamp, nullable=False),
    sa.Column("reads", sa.BigInteger, nullable=False),
)

secret_rotation = sa.Table(
    "ks_secret_rotation",
    metadata,
    _secret_id(),
    sa.Column("max_age_s", sa.BigInteger, nullable=False),
    sa.Column("warn_before_s", sa.BigInteger, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
)

secret_mount_rotation = sa.Table(
    "ks_secret_mount_rotation",
    metadata,
    sa.Column("workspace_id", sa.String(40), primary_key=True),
    sa.Column("mount", sa.String(64), primary_key=True),
    sa.Column("max_age_s", sa.BigInteger, nullable=False),
    sa.Column("warn_before_s", sa.BigInteger, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
)

secret_rotation_notices = sa.Table(
    "ks_secret_rotation_notices",
    metadata,
    _secret_id(),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("notified_at", Stamp, nullable=False),
)

__all__ = [
    "secret_consumers",
    "secret_mount_rotation",
    "secret_rotation",
    "secret_rotation_notices",
]
