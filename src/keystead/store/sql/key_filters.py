"""The key list's filters as SQL conditions: a key's state at ``now`` and the search."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from keystead.store.sql.tables import keys


def search_condition(search: str, dialect: str) -> sa.ColumnElement[bool]:
    """The name contains it, ASCII letters in any case (as SQLite's LIKE and
    lower() fold them; on PostgreSQL lower() under the "C" collation, which is
    also the cheap one), or the owner id or ``start`` begins with it (exactly)."""
    escaped = search.replace("/", "//").replace("%", "/%").replace("_", "/_")
    if dialect == "postgresql":
        folded = escaped.translate(_ASCII_LOWER)
        return sa.or_(
            sa.func.lower(keys.c.name.collate("C")).like(f"%{folded}%", escape="/"),
            sa.func.starts_with(keys.c.owner_id, search),
            sa.func.starts_with(keys.c.start, search),
        )
    size = len(search)
    name = keys.c.name.like(f"%{escaped}%", escape="/")
    if dialect == "mysql":  # LIKE under the tables' binary collation: case matters
        name = sa.func.lower(keys.c.name).like(f"%{escaped.translate(_ASCII_LOWER)}%", escape="/")
    return sa.or_(
        name,
        sa.func.substr(keys.c.owner_id, 1, size) == search,
        sa.func.substr(keys.c.start, 1, size) == search,
    )


def owner_live_keys(workspace_id: str, owner_id: str, now: datetime) -> sa.Select[Any]:
    """How many of an owner's keys are neither revoked nor expired at ``now``."""
    return sa.select(sa.func.count()).where(
        (keys.c.workspace_id == workspace_id)
        & (keys.c.owner_id == owner_id)
        & keys.c.revoked_at.is_(None)
        & sa.or_(keys.c.expires_at.is_(None), keys.c.expires_at > now)
    )


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def state_condition(state: str, now: datetime) -> sa.ColumnElement[bool]:
    live = keys.c.revoked_at.is_(None)
    unexpired = sa.or_(keys.c.expires_at.is_(None), keys.c.expires_at > now)
    if state == "revoked":
        return keys.c.revoked_at.is_not(None)
    if state == "disabled":
        return live & keys.c.enabled.is_(False)
    if state == "expired":
        return live & keys.c.enabled.is_(True) & (keys.c.expires_at <= now)
    started = sa.or_(keys.c.not_before.is_(None), keys.c.not_before <= now)
    if state == "pending":
        return live & keys.c.enabled.is_(True) & unexpired & ~started
    return live & keys.c.enabled.is_(True) & unexpired & started


__all__ = ["owner_live_keys", "search_condition", "state_condition"]
