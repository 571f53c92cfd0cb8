"""Rows to domain records. SQLite returns naive datetimes: they are UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from keystead.core.at_rest import key_version_of
from keystead.core.events import Event
from keystead.core.hashing import StoredHash
from keystead.core.models import Api, Key, Owner, Pickup, Plan, Role, RootKey, Workspace
from keystead.store.sql.tables import keys

KEY_COLUMNS = [
    c
    for c in keys.c
    if c.name
    not in (
        "key_hash",
        "hash_version",
        "credits_remaining",
        "expiring_notified_at",
        "expired_notified_at",
    )
]
"""What ``key`` reads of a key row: not the hash (nor its secret version), the
credits mirror or the scheduler's notice stamps."""


def aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _stamp(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def workspace(row: sa.Row[Any]) -> Workspace:
    return Workspace(id=row.id, name=row.name, created_at=_stamp(row.created_at))


def root_key(row: sa.Row[Any]) -> RootKey:
    return RootKey(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        start=row.start,
        permissions=tuple(row.permissions),
        api_ids=None if row.api_ids is None else tuple(row.api_ids),
        created_at=_stamp(row.created_at),
        revoked_at=aware(row.revoked_at),
        created_by=row.created_by,
        owner_id=row.owner_id,
    )


def api(row: sa.Row[Any]) -> Api:
    return Api(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        prefix=row.prefix,
        key_defaults=dict(row.key_defaults),
        created_at=_stamp(row.created_at),
        updated_at=_stamp(row.updated_at),
        limits=dict(row.limits or {}),
        rotation_policy=None if row.rotation_policy is None else dict(row.rotation_policy),
        token_policy=None if row.token_policy is None else dict(row.token_policy),
    )


def plan(row: sa.Row[Any]) -> Plan:
    return Plan(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        limits=dict(row.limits),
        priority=int(row.priority),
        created_at=_stamp(row.created_at),
        updated_at=_stamp(row.updated_at),
    )


def owner(row: sa.Row[Any]) -> Owner:
    return Owner(
        workspace_id=row.workspace_id,
        owner_id=row.owner_id,
        limits=dict(row.limits),
        created_at=_stamp(row.created_at),
        updated_at=_stamp(row.updated_at),
        public_jwk=None if row.public_jwk is None else dict(row.public_jwk),
    )


def role(row: sa.Row[Any]) -> Role:
    return Role(
        api_id=row.api_id,
        name=row.name,
        permissions=tuple(row.permissions),
        description=row.description,
        created_at=_stamp(row.created_at),
        updated_at=_stamp(row.updated_at),
    )


def key(row: sa.Row[Any]) -> Key:
    return Key(
        id=row.id,
        workspace_id=row.workspace_id,
        api_id=row.api_id,
        prefix=row.prefix,
        start=row.start,
        name=row.name,
        owner_id=row.owner_id,
        meta=dict(row.meta),
        permissions=tuple(row.permissions),
        roles=tuple(row.roles),
        enabled=bool(row.enabled),
        environment=row.environment,
        not_before=aware(row.not_before),
        expires_at=aware(row.expires_at),
        restrictions=None if row.restrictions is None else dict(row.restrictions),
        created_at=_stamp(row.created_at),
        updated_at=_stamp(row.updated_at),
        last_used_at=aware(row.last_used_at),
        revoked_at=aware(row.revoked_at),
        created_by=row.created_by,
        limits=dict(row.limits or {}),
        plan_id=row.plan_id,
        rotated_from=row.rotated_from,
        rotated_to=row.rotated_to,
        lineage_id=row.lineage_id,
        rotation_policy=None if row.rotation_policy is None else dict(row.rotation_policy),
    )


def hash_version_of(key_hash: bytes) -> int:
    """The server-secret version of a hash to store: a ``StoredHash`` says; a
    plain digest is version 1's."""
    return key_hash.version if isinstance(key_hash, StoredHash) else 1


def key_values(record: Key, key_hash: bytes) -> dict[str, Any]:
    return {
        "id": record.id,
        "workspace_id": record.workspace_id,
        "api_id": record.api_id,
        "key_hash": key_hash,
        "hash_version": hash_version_of(key_hash),
        "prefix": record.prefix,
        "start": record.start,
        "name": record.name,
        "owner_id": record.owner_id,
        "meta": record.meta,
        "permissions": list(record.permissions),
        "roles": list(record.roles),
        "enabled": record.enabled,
        "environment": record.environment,
        "not_before": record.not_before,
        "expires_at": record.expires_at,
        "restrictions": record.restrictions,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "last_used_at": record.last_used_at,
        "revoked_at": record.revoked_at,
        "created_by": record.created_by,
        "limits": record.limits or None,
        "plan_id": record.plan_id,
        "rotated_from": record.rotated_from,
        "rotated_to": record.rotated_to,
        "lineage_id": record.lineage_id,
        "rotation_policy": record.rotation_policy,
    }


def event(row: sa.Row[Any]) -> Event:
    return Event(
        id=row.id,
        type=row.type,
        workspace_id=row.workspace_id,
        created_at=_stamp(row.created_at),
        data=dict(row.data),
    )


def pickup(row: sa.Row[Any]) -> Pickup:
    return Pickup(
        id=row.id,
        workspace_id=row.workspace_id,
        key_id=row.key_id,
        owner_id=row.owner_id,
        format=row.format,
        ciphertext=None if row.ciphertext is None else bytes(row.ciphertext),
        created_at=_stamp(row.created_at),
        expires_at=_stamp(row.expires_at),
        claimed_at=aware(row.claimed_at),
        claimed_by=row.claimed_by,
    )


def pickup_values(record: Pickup) -> dict[str, Any]:
    return {
        "id": record.id,
        "workspace_id": record.workspace_id,
        "key_id": record.key_id,
        "owner_id": record.owner_id,
        "format": record.format,
        "ciphertext": record.ciphertext,
        "key_version": key_version_of(record.ciphertext),
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "claimed_at": record.claimed_at,
        "claimed_by": record.claimed_by,
    }
