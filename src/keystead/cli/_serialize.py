"""Domain records as the JSON the HTTP API answers, so local and remote output match."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from keystead.core.models import (
    Api,
    CreatedKey,
    CreatedRootKey,
    Key,
    LimitState,
    Owner,
    Plan,
    Role,
    RootKey,
    Workspace,
)
from keystead.core.verify import Verdict

Json = dict[str, Any]


def _time(value: datetime | None) -> str | None:
    """UTC, ISO 8601 with a ``Z`` suffix, as the HTTP API writes it."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


time_text = _time


def workspace(ws: Workspace) -> Json:
    return {"id": ws.id, "name": ws.name, "created_at": _time(ws.created_at)}


def api(item: Api) -> Json:
    return {
        "id": item.id,
        "name": item.name,
        "prefix": item.prefix,
        "key_defaults": item.key_defaults,
        "limits": {
            "failure_policy": item.limits.get("failure_policy", "open"),
            "ip_ratelimits": list(item.limits.get("ip_ratelimits") or []),
        },
        "rotation_policy": item.rotation_policy,
        "created_at": _time(item.created_at),
        "updated_at": _time(item.updated_at),
    }


def role(item: Role) -> Json:
    return {
        "api_id": item.api_id,
        "name": item.name,
        "permissions": list(item.permissions),
        "description": item.description,
        "created_at": _time(item.created_at),
        "updated_at": _time(item.updated_at),
    }


def key(item: Key, now: float) -> Json:
    return {
        "id": item.id,
        "start": item.start,
        "prefix": item.prefix,
        "api_id": item.api_id,
        "name": item.name,
        "owner_id": item.owner_id,
        "meta": item.meta,
        "permissions": list(item.permissions),
        "roles": list(item.roles),
        "enabled": item.enabled,
        "environment": item.environment,
        "not_before": _time(item.not_before),
        "expires_at": _time(item.expires_at),
        "restrictions": item.restrictions,
        "created_at": _time(item.created_at),
        "updated_at": _time(item.updated_at),
        "last_used_at": _time(item.last_used_at),
        "revoked_at": _time(item.revoked_at),
        "created_by": item.created_by,
        "state": item.state_at(now),
        "plan_id": item.plan_id,
        "rotation_policy": item.rotation_policy,
        "rotated_from": item.rotated_from,
        "rotated_to": item.rotated_to,
        **limit_set(item.limits),
    }


def limit_set(limits: dict[str, Any]) -> Json:
    """A stored limit set as the four fields records carry (absent: [] or None)."""
    return {
        "ratelimits": list(limits.get("ratelimits") or []),
        "quota": limits.get("quota"),
        "credits": limits.get("credits"),
        "concurrency": limits.get("concurrency"),
    }


def plan(item: Plan) -> Json:
    return {
        "id": item.id,
        "name": item.name,
        "priority": item.priority,
        **limit_set(item.limits),
        "created_at": _time(item.created_at),
        "updated_at": _time(item.updated_at),
    }


def owner(item: Owner) -> Json:
    return {
        "owner_id": item.owner_id,
        **limit_set(item.limits),
        "created_at": _time(item.created_at),
        "updated_at": _time(item.updated_at),
    }


def _seconds_ms(seconds: float) -> float:
    """Seconds rounded up to the millisecond, never negative (as the HTTP API)."""
    return max(0.0, math.ceil(seconds * 1000) / 1000)


def limit_state(item: LimitState) -> Json:
    """One limit after verify: ``reset`` in epoch seconds rounded up,
    ``retry_after`` only on the limit that refused."""
    out: Json = {
        "name": item.name,
        "kind": item.kind,
        "limit": item.limit,
        "remaining": item.remaining,
        "reset": None if item.reset is None else math.ceil(item.reset),
    }
    if item.retry_after is not None:
        out["retry_after"] = _seconds_ms(item.retry_after)
    return out


def created_key(created: CreatedKey, now: float) -> Json:
    """The key record plus ``key``: the plaintext, revealed this once."""
    return {**key(created.key, now), "key": created.plaintext}


def root_key(item: RootKey) -> Json:
    return {
        "id": item.id,
        "name": item.name,
        "start": item.start,
        "permissions": list(item.permissions),
        "api_ids": None if item.api_ids is None else list(item.api_ids),
        "created_at": _time(item.created_at),
        "revoked_at": _time(item.revoked_at),
        "created_by": item.created_by,
    }


def created_root_key(created: CreatedRootKey) -> Json:
    return {**root_key(created.root_key), "key": created.plaintext}


def verdict(result: Verdict) -> Json:
    """The verify answer: key fields only when the key was found; ``reason``,
    ``limits``, ``retry_after``, ``leases`` and ``shed`` only when they say something."""
    found = result.key
    out: Json = {"valid": result.valid, "code": result.code.value}
    if found is not None:
        out["key_id"] = found.id
        out["api_id"] = found.api_id
        out["owner_id"] = found.owner_id
        out["name"] = found.name
        out["permissions"] = list(result.permissions)
        out["meta"] = found.meta
        out["expires_at"] = _time(found.expires_at)
        if found.plan_id is not None:
            out["plan_id"] = found.plan_id
    if result.reason is not None:
        out["reason"] = result.reason
        if found is not None and found.rotated_to is not None:
            out["rotated_to"] = found.rotated_to
    if result.limits:
        out["limits"] = [limit_state(item) for item in result.limits]
    if result.retry_after is not None:
        out["retry_after"] = _seconds_ms(result.retry_after)
    if result.leases:
        out["leases"] = list(result.leases)
    if result.shed:
        out["shed"] = True
    return out


__all__ = [
    "api",
    "created_key",
    "created_root_key",
    "key",
    "limit_set",
    "limit_state",
    "owner",
    "plan",
    "role",
    "root_key",
    "verdict",
    "workspace",
]
