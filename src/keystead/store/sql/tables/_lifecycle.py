"""The outbox, pickups, incidents, key actions and scheduler leases."""

from __future__ import annotations

import sqlalchemy as sa

from keystead.store.sql.tables._columns import Json, Stamp, metadata

outbox = sa.Table(
    "ks_outbox",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("data", Json, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("dispatched_at", Stamp),
    sa.Index("ix_ks_outbox_pending", "dispatched_at", "id"),
    sa.Index("ix_ks_outbox_workspace", "workspace_id", "id"),
)

pickups = sa.Table(
    "ks_pickups",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("key_id", sa.String(40), nullable=False),
    sa.Column("owner_id", sa.String(200)),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("ciphertext", sa.LargeBinary),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("expires_at", Stamp, nullable=False),
    sa.Column("claimed_at", Stamp),
    sa.Column("claimed_by", sa.String(80)),
    sa.Column("key_version", sa.Integer),  # migration 0012: see core/at_rest.py
    sa.Index("ix_ks_pickups_owner", "workspace_id", "owner_id", "id"),
    sa.Index("ix_ks_pickups_key_version", "key_version"),
)

incidents = sa.Table(
    "ks_incidents",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("key_id", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("cause", Json, nullable=False),
    sa.Column("replacement_key_id", sa.String(40)),
    sa.Column("evidence", Json, nullable=False),
    sa.Column("notes", sa.Text),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("created_by", sa.String(80)),
    sa.Index("ix_ks_incidents_workspace", "workspace_id", "id"),
)

key_actions = sa.Table(
    "ks_key_actions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("workspace_id", sa.String(40), nullable=False),
    sa.Column("key_id", sa.String(40), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("cause", Json, nullable=False),
    sa.Column("actor", sa.String(80)),
    sa.Column("result", Json, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Index("ix_ks_key_actions_key", "workspace_id", "key_id", "id"),
)

leases = sa.Table(
    "ks_leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(80), nullable=False),
    sa.Column("expires_at", Stamp, nullable=False),
)

__all__ = ["incidents", "key_actions", "leases", "outbox", "pickups"]
