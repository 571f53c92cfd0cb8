"""Usage records as the service shows them: the recorder, reads, retention."""

from __future__ import annotations

from datetime import UTC, datetime

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.geo import default_resolver
from keystead.core.usage import Rollup, RollupKey, UsageRecord
from keystead.events.usage import UsageRecorder
from keystead.store.usage import UsageStore

_DAY_S = 86_400


class UsageService:
    """``Keystead.usage``: ``recorder`` takes records; reads need ``keys.read``."""

    def __init__(self, store: UsageStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self.recorder = UsageRecorder(
            store,
            capacity=settings.usage_buffer_size,
            policy=settings.usage_full_policy,
            flush_interval_s=settings.usage_flush_interval_s,
            batch_size=settings.usage_batch_size,
            resolver=default_resolver(),
        )

    async def records(
        self, principal: Principal, *, key_id: str | None = None, limit: int = 100
    ) -> list[UsageRecord]:
        """The newest records of the principal's workspace (or one key), newest first."""
        principal.require("keys.read")
        found = await self._store.list_usage(principal.workspace_id, key_id=key_id, limit=limit)
        return [r for r in found if r.api_id is None or principal.sees_api(r.api_id)]

    async def rollups(
        self,
        principal: Principal,
        scope: str,
        scope_id: str,
        granularity: str = "hour",
        *,
        since: float | None = None,
    ) -> list[tuple[RollupKey, Rollup]]:
        """Rollups of one key, owner or API, oldest bucket first."""
        principal.require("keys.read")
        return await self._store.get_rollups(
            principal.workspace_id,
            scope,
            scope_id,
            granularity,
            since=None if since is None else int(since),
        )

    async def purge(self, now: float) -> tuple[int, int]:
        """Apply retention: delete raw records and rollups past their settings."""
        s = self._settings
        raw_before = datetime.fromtimestamp(now - s.usage_raw_retention_days * _DAY_S, UTC)
        rollups_before = int(now - s.usage_rollup_retention_days * _DAY_S)
        return await self._store.purge_usage(raw_before, rollups_before)

    async def flush(self) -> None:
        await self.recorder.flush()


__all__ = ["UsageService"]
