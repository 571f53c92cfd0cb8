"""Usage records as the service shows them: the recorder, reads, retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import Clock
from keystead.core.geo import default_resolver
from keystead.core.models import VerifyContext
from keystead.core.usage import Rollup, RollupKey, UsageRecord
from keystead.core.verify import Verdict
from keystead.errors import ValidationError
from keystead.events.usage import Completed, UsageRecorder
from keystead.events.usage.writer import ProcessWriter
from keystead.store.usage import UsageStore

_DAY_S = 86_400
MAX_TAGS = 16
MAX_TAG_LENGTH = 100
MAX_RESPONSE_MS = 86_400_000.0


class UsageService:
    """``Keystead.usage``: ``recorder`` takes records; reads need ``keys.read``."""

    def __init__(self, store: UsageStore, settings: Settings, clock: Clock) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        writer = None
        if settings.usage_writer == "process":
            writer = ProcessWriter(settings.database_url, settings.export_urls, geoip=True)
        self.recorder = UsageRecorder(
            store,
            capacity=settings.usage_buffer_size,
            policy=settings.usage_full_policy,
            flush_interval_s=settings.usage_flush_interval_s,
            batch_size=settings.usage_batch_size,
            resolver=None if writer is not None else default_resolver(),
            writer=writer,
        )

    async def complete(
        self,
        verdict: Verdict,
        context: VerifyContext | None = None,
        *,
        status: int | None = None,
        response_ms: float | None = None,
        bytes_in: int | None = None,
        bytes_out: int | None = None,
        tags: Sequence[str] = (),
        principal: Principal | None = None,
        started_at: float | None = None,
    ) -> None:
        """Record a request a middleware or gateway verified with
        ``verify(..., record=False)`` and has now answered: the verification's
        outcome with the response's status, time and sizes, and ``tags``.
        ``started_at`` (epoch seconds) defaults to now less ``response_ms``."""
        done = Completed(
            context,
            _status(status),
            _amount(response_ms, "response_ms"),
            _bytes(bytes_in, "bytes_in"),
            _bytes(bytes_out, "bytes_out"),
            _tags(tags),
        )
        if not self._settings.usage_enabled:
            return
        if started_at is None:
            started_at = self._clock.now() - (response_ms or 0.0) / 1000
        await self.recorder.append((started_at, verdict, done, principal))

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


def _status(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ValidationError("status is an HTTP status, 100 to 599", field="status")
    return value


def _amount(value: object, name: str) -> float | None:
    if value is None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not 0 <= float(value) <= MAX_RESPONSE_MS:  # type: ignore[arg-type]
        raise ValidationError(f"{name} is a number of milliseconds, 0 or more", field=name)
    return float(value)  # type: ignore[arg-type]


def _bytes(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise ValidationError(f"{name} is a whole number of bytes, 0 or more", field=name)
    return value


def _tags(values: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str) or len(values) > MAX_TAGS:
        raise ValidationError(f"tags is a list of at most {MAX_TAGS} texts", field="tags")
    for tag in values:
        if not isinstance(tag, str) or not 1 <= len(tag) <= MAX_TAG_LENGTH or "\x00" in tag:
            raise ValidationError(
                f"a tag is text of 1 to {MAX_TAG_LENGTH} characters", field="tags"
            )
    return tuple(values)


__all__ = ["MAX_TAGS", "MAX_TAG_LENGTH", "UsageService"]
