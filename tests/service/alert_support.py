"""Shared by the alert tests: a key to watch, usage records at chosen times,
the outbox events of a type."""

from __future__ import annotations

from typing import Any

from keystead.core.authz import Principal
from keystead.core.usage import UsageRecord
from keystead.service import Keystead

DAY = 86_400.0


async def key_with_api(ks: Keystead, admin: Principal, **fields: Any) -> tuple[str, str]:
    apis = await ks.apis.list(admin)
    api = apis[0] if apis else await ks.apis.create(admin, name="watched", prefix="wt")
    created = await ks.keys.create(admin, api_id=api.id, **fields)
    return created.key.id, created.plaintext


async def add_usage(ks: Keystead, admin: Principal, at: float, n: int = 1, **fields: Any) -> None:
    values: dict[str, Any] = {"api_id": None, "key_id": None, "owner_id": None, "code": "VALID"}
    values.update(fields)
    for i in range(n):
        record = UsageRecord(at=at + i * 0.001, workspace_id=admin.workspace_id, **values)
        await ks.usage.recorder.add(record)


async def outbox_events(ks: Keystead, admin: Principal, type_: str) -> list[dict[str, Any]]:
    found = await ks.store.list_events(admin.workspace_id, after=None, limit=1000)
    return [e.data for e in found if e.type == type_]
