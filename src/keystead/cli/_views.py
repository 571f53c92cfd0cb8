"""What the human output shows of each kind of record: table columns and panel fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.panel import Panel

from keystead.cli._limitviews import limits_of, limits_table, spec_text, summary
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
    ("Failure policy", "failure_policy"),
    ("Per-IP limits", "ip_ratelimits"),
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
    ("Plan", "plan_id"),
    ("Credits left", "credits_remaining"),
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

PLAN_COLUMNS: list[Column] = [
    ("ID", "id"),
    ("Name", "name"),
    ("Priority", "priority"),
    ("Limits", "limits_text"),
]
PLAN_FIELDS: list[Column] = [
    *PLAN_COLUMNS[:3],
    ("Created", "created_at"),
    ("Updated", "updated_at"),
]
OWNER_COLUMNS: list[Column] = [("Owner", "owner_id"), ("Limits", "limits_text")]
OWNER_FIELDS: list[Column] = [
    ("Owner", "owner_id"),
    ("Created", "created_at"),
    ("Updated", "updated_at"),
]


def key_panel(key: Json, title: str) -> Panel:
    return record(key, KEY_FIELDS, title=title)


def key_view(console: Console, key: Json, title: str, plan: Json | None = None) -> None:
    """A key's panel, then its limits: with its ``plan``, every limit that applies
    and where it comes from; else the key's own."""
    console.print(key_panel(key, title))
    console.print(limits_table(limits_of(key), plan=plan))


def limited_view(console: Console, item: Json, fields: Sequence[Column], title: str) -> None:
    """A plan or an owner: its panel and its limits."""
    console.print(record(item, fields, title=title))
    console.print(limits_table(limits_of(item)))


def with_summary(items: Sequence[Mapping[str, Any]]) -> list[Json]:
    """List rows with ``limits_text``: the limit set on one line."""
    return [{**item, "limits_text": summary(item)} for item in items]


def api_view(api: Mapping[str, Any]) -> Json:
    """An API with its limit settings as panel rows."""
    limits = api.get("limits")
    settings = limits if isinstance(limits, Mapping) else {}
    rates = settings.get("ip_ratelimits") or []
    return {
        **api,
        "failure_policy": settings.get("failure_policy", "open"),
        "ip_ratelimits": [spec_text("ratelimit", r) for r in rates] or None,
    }


__all__ = [
    "API_COLUMNS",
    "API_FIELDS",
    "KEY_COLUMNS",
    "KEY_FIELDS",
    "OWNER_COLUMNS",
    "OWNER_FIELDS",
    "PLAN_COLUMNS",
    "PLAN_FIELDS",
    "ROLE_COLUMNS",
    "ROOT_KEY_COLUMNS",
    "WORKSPACE_COLUMNS",
    "api_view",
    "key_panel",
    "key_view",
    "limited_view",
    "with_summary",
]
