"""Settings, workspaces, root keys, APIs and roles, keys, plans and owners."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import Json, NullableJson, Stamp, metadata

settings = sa.Table(
    "ks_settings",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

workspaces = sa.Table(
    "ks_workspaces",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
)

root_keys = sa.Table(
    "ks_root_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
    sa.Column("key_hash", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("start", sa.String(48), nullable=False),
    sa.Column("name", sa.String(200)),
    sa.Column("permissions", Json, nullable=False),
    sa.Column("api_ids", Json),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("revoked_at", Stamp),
    sa.Column("created_by", sa.String(80)),
    sa.Column("owner_id", sa.String(200)),
    sa.Column("hash_version", sa.Integer, nullable=False, server_default="1"),
    sa.Index("ix_ks_root_keys_workspace", "workspace_id", "id"),
)

apis = sa.Table(
    "ks_apis",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("prefix", sa.String(32), nullable=False),
    sa.Column("key_defaults", Json, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("limits", Json),
    sa.Column("rotation_policy", NullableJson),
    sa.Column("token_policy", NullableJson),
    sa.UniqueConstraint("workspace_id", "name", name="uq_ks_apis_workspace_name"),
)

roles = sa.Table(
    "ks_roles",
    metadata,
    sa.Column(
        "api_id", sa.String(40), sa.ForeignKey("ks_apis.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("permissions", Json, nullable=False),
    sa.Column("description", sa.String(500)),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.PrimaryKeyConstraint("api_id", "name", name="pk_ks_roles"),
)

keys = sa.Table(
    "ks_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
    sa.Column("api_id", sa.String(40), sa.ForeignKey("ks_apis.id"), nullable=False),
    sa.Column("key_hash", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("prefix", sa.String(32), nullable=False),
    sa.Column("start", sa.String(48), nullable=False),
    sa.Column("name", sa.String(200)),
    sa.Column("owner_id", sa.String(200)),
    sa.Column("meta", Json, nullable=False),
    sa.Column("permissions", Json, nullable=False),
    sa.Column("roles", Json, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("environment", sa.String(32)),
    sa.Column("not_before", Stamp),
    sa.Column("expires_at", Stamp),
    sa.Column("restrictions", Json),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("last_used_at", Stamp),
    sa.Column("revoked_at", Stamp),
    sa.Column("created_by", sa.String(80)),
    sa.Column("limits", Json),
    sa.Column("plan_id", sa.String(40), sa.ForeignKey("ks_plans.id", name="fk_ks_keys_plan")),
    sa.Column("credits_remaining", sa.BigInteger),
    sa.Column("rotated_from", sa.String(40)),
    sa.Column("rotated_to", sa.String(40)),
    sa.Column("lineage_id", sa.String(40)),
    sa.Column("rotation_policy", NullableJson),
    sa.Column("expiring_notified_at", Stamp),
    sa.Column("expired_notified_at", Stamp),
    sa.Column("hash_version", sa.Integer, nullable=False, server_default="1"),
    sa.Index("ix_ks_keys_workspace", "workspace_id", "id"),
    sa.Index("ix_ks_keys_api", "api_id", "id"),
    sa.Index("ix_ks_keys_owner", "workspace_id", "owner_id", "id"),
    sa.Index("ix_ks_keys_plan", "plan_id"),
    # the key list's filters page in id order (0018)
    sa.Index("ix_ks_keys_plan_page", "workspace_id", "plan_id", "id"),
    sa.Index("ix_ks_keys_environment_page", "workspace_id", "environment", "id"),
    sa.Index("ix_ks_keys_api_created", "api_id", "created_at"),
    sa.Index("ix_ks_keys_expires", "expires_at"),
    # keys per server-secret version: an index-only count (0020)
    sa.Index("ix_ks_keys_hash_version", "hash_version"),
    sa.Index(
        "ix_ks_keys_own_policy",
        "id",
        postgresql_where=sa.text("rotation_policy IS NOT NULL"),
        sqlite_where=sa.text("rotation_policy IS NOT NULL"),
    ),
)

plans = sa.Table(
    "ks_plans",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("limits", Json, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.UniqueConstraint("workspace_id", "name", name="uq_ks_plans_workspace_name"),
)

owners = sa.Table(
    "ks_owners",
    metadata,
    sa.Column("workspace_id", sa.String(40), sa.ForeignKey("ks_workspaces.id"), nullable=False),
    sa.Column("owner_id", sa.String(200), nullable=False),
    sa.Column("limits", Json, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("public_jwk", Json),
    sa.PrimaryKeyConstraint("workspace_id", "owner_id", name="pk_ks_owners"),
)

__all__ = ["apis", "keys", "owners", "plans", "roles", "root_keys", "settings", "workspaces"]
