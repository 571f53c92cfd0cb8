"""Keys imported from another system (0021): the import's external id, and the
legacy hash a key keeps until its first use (docs/operations.md, "Importing keys")."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import Stamp, metadata

key_imports = sa.Table(
    "ks_key_imports",
    metadata,
    sa.Column(
        "key_id",
        sa.String(40),
        sa.ForeignKey("ks_keys.id", ondelete="CASCADE", name="fk_ks_key_imports_key"),
        primary_key=True,
    ),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("external_id", sa.String(200)),
    sa.Column("scheme", sa.String(32), nullable=False),
    # the one indexed value a verification finds a legacy hash by: the SHA-256 of its
    # lookup text (core.legacy_hashes), so that no key text nor legacy digest is in a
    # query; kept once the key is re-hashed (legacy_hash is then NULL), so that a node
    # that missed the keyed hash before another moved the key still finds it
    sa.Column("lookup", sa.String(64), unique=True),
    sa.Column("legacy_hash", sa.LargeBinary),
    # a key in Keystead's shape routes to the imported-key lookup only when its
    # prefix is one of these ("" for keys whose prefix is unknown); NULL: never
    sa.Column("shaped_prefix", sa.String(32)),
    sa.Column("imported_at", Stamp, nullable=False),
    sa.Column("rehashed_at", Stamp),
    sa.UniqueConstraint("workspace_id", "external_id", name="uq_ks_key_imports_external"),
)

__all__ = ["key_imports"]
