"""What the human output shows of each kind of record: table columns and panel fields."""

from __future__ import annotations

from rich.panel import Panel

from keystead.cli._output import Column, Json, record

API_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("Name", "name"),
    ("Prefix", "prefix"),
    ("Created", "created_at"),
]
API_FIELDS: list[Column] = [
    *API_COLUMNS[:3],
    ("Key defaults", "key_defaults"),
    ("Created", "created_at"),
    ("Updated", "updated_at"),
]
ROLE_COLUMNS: list[Column] = [
    ("Name", "name"),
    ("Permissions", "permissions"),
    ("Description", "description"),
]

KEY_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("Name", "name"),
    ("Owner", "owner_id"),
    ("Start", "start"),
    ("State", "state"),
    ("Expires", "expires_at"),
]
KEY_FIELDS: list[Column] = [
    ("ID", "id"),
    ("Name", "name"),
    ("API", "api_id"),
    ("Owner", "owner_id"),
    ("Start", "start"),
    ("State", "state"),
    ("Environment", "environment"),
    ("Permissions", "permissions"),
    ("Roles", "roles"),
    ("Meta", "meta"),
    ("Restrictions", "restrictions"),
    ("Not before", "not_before"),
    ("Expires", "expires_at"),
    ("Created", "created_at"),
    ("Updated", "updated_at"),
    ("Last used", "last_used_at"),
    ("Revoked", "revoked_at"),
    ("Created by", "created_by"),
]

ROOT_KEY_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("Name", "name"),
    ("Start", "start"),
    ("Permissions", "permissions"),
    ("APIs", "api_ids"),
    ("Created", "created_at"),
    ("Revoked", "revoked_at"),
]
WORKSPACE_COLUMNS: list[Column] = [("ID", "id"), ("Name", "name"), ("Created", "created_at")]


def key_panel(key: Json, title: str) -> Panel:
    return record(key, KEY_FIELDS, title=title)


__all__ = [
    "API_COLUMNS",
    "API_FIELDS",
    "KEY_COLUMNS",
    "KEY_FIELDS",
    "ROLE_COLUMNS",
    "ROOT_KEY_COLUMNS",
    "WORKSPACE_COLUMNS",
    "key_panel",
]
