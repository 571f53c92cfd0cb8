"""SQLAlchemy Core tables. The Alembic migrations are the source of truth for
the schema; these mirror them for queries (a test checks they agree).

One private module per area; import the tables from here (importing this
package registers every table on ``metadata``)."""

from __future__ import annotations

from keystead.store.sql.tables._alerts import alert_rules, alerts
from keystead.store.sql.tables._audit import audit, audit_checkpoints, audit_heads
from keystead.store.sql.tables._columns import Json, NullableJson, Stamp, metadata
from keystead.store.sql.tables._core import (
    apis,
    keys,
    owners,
    plans,
    roles,
    root_keys,
    settings,
    workspaces,
)
from keystead.store.sql.tables._key_imports import key_imports
from keystead.store.sql.tables._leaks import leak_policies, leaks
from keystead.store.sql.tables._lifecycle import incidents, key_actions, leases, outbox, pickups
from keystead.store.sql.tables._secret_lifecycle import (
    secret_consumers,
    secret_mount_rotation,
    secret_rotation,
    secret_rotation_notices,
)
from keystead.store.sql.tables._secrets import secret_mounts, secret_versions, secrets
from keystead.store.sql.tables._server_secret import server_secret_versions
from keystead.store.sql.tables._tokens import token_denials, token_signing_keys
from keystead.store.sql.tables._transit import transit_key_versions, transit_keys
from keystead.store.sql.tables._usage import SERIES_FIGURES, usage, usage_rollups
from keystead.store.sql.tables._web_sessions import portal_branding, portal_links, web_sessions
from keystead.store.sql.tables._webhooks import deliveries, delivery_attempts, webhooks

__all__ = [
    "SERIES_FIGURES",
    "Json",
    "NullableJson",
    "Stamp",
    "alert_rules",
    "alerts",
    "apis",
    "audit",
    "audit_checkpoints",
    "audit_heads",
    "deliveries",
    "delivery_attempts",
    "incidents",
    "key_actions",
    "key_imports",
    "keys",
    "leak_policies",
    "leaks",
    "leases",
    "metadata",
    "outbox",
    "owners",
    "pickups",
    "plans",
    "portal_branding",
    "portal_links",
    "roles",
    "root_keys",
    "secret_consumers",
    "secret_mount_rotation",
    "secret_mounts",
    "secret_rotation",
    "secret_rotation_notices",
    "secret_versions",
    "secrets",
    "server_secret_versions",
    "settings",
    "token_denials",
    "token_signing_keys",
    "transit_key_versions",
    "transit_keys",
    "usage",
    "usage_rollups",
    "web_sessions",
    "webhooks",
    "workspaces",
]
