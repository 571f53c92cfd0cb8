"""Usage records as the service shows them: the recorder, reports of requests
answered elsewhere, reads, retention."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import Clock
from keystead.core.geo import default_resolver
from keystead.core.models import Code, Key, VerifyContext
from keystead.core.text import problem_of
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
MAX_REPORTS = 1000
"""Reports in one ``report`` call."""
MAX_TEXT = 4096
"""The longest text of a report (the HTTP API's own bounds are tighter but for ``path``)."""
FUTURE_SLACK_S = 300.0
"""How far ahead of this node's clock a report's time may be (clock skew)."""
_CODES = frozenset(code.value for code in Code)
_TEXTS = ("key_id", "ip", "user_agent", "method", "path")
REPORT_FIELDS = frozenset(
    (*_TEXTS, "code", "at", "status", "response_ms", "bytes_in", "bytes_out", "tags")
)
"""What a report of a request answered elsewhere holds (``key_id``, ``code`` and
``at`` required): ``report`` takes them as mappings, as the HTTP API sends them."""


class _Store(UsageStore, Protocol):
    async def get_key(self, workspace_id: str, key_id: str) -> Key | None: ...


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    recorded: int
    """Records appended (0 when usage recording is off)."""
    unattributed: int
    """Reports naming a key the caller cannot see: recorded for the workspace only."""


class UsageService:
    """``Keystead.usage``: ``recorder`` takes records; reads need ``keys.read``."""

    def __init__(self, store: _Store, settings: Settings, clock: Clock) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        writer = None
        if settings.usage_writer == "process":
            writer = ProcessWriter(
                settings.database_url,
                settings.export_urls,
                geoip=True,
                sd_id=settings.syslog_sd_id,
                gc_tuning=settings.gc_tuning,
            )
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
        waiting = self.complete_now(
            verdict,
            context,
            status=status,
            response_ms=response_ms,
            bytes_in=bytes_in,
            bytes_out=bytes_out,
            tags=tags,
            principal=principal,
            started_at=started_at,
        )
        if waiting is not None:
            await waiting

    def complete_now(
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
    ) -> Awaitable[None] | None:
        """``complete`` without a coroutine when the buffer takes the record at
        once (on the service's loop): None, or what to await when the ``block``
        policy makes it wait for room."""
        # a middleware's own values pass the exact-type tests inline (one call
        # per request each otherwise); anything else gets the full checks
        if not (type(status) is int and 100 <= status <= 599):
            status = _status(status)
        if not (type(response_ms) is float and 0.0 <= response_ms <= MAX_RESPONSE_MS):
            response_ms = _amount(response_ms, "response_ms")
        if not (type(bytes_in) is int and 0 <= bytes_in < _MAX_BYTES):
            bytes_in = _bytes(bytes_in, "bytes_in")
        if not (type(bytes_out) is int and 0 <= bytes_out < _MAX_BYTES):
            bytes_out = _bytes(bytes_out, "bytes_out")
        if tags != () or type(tags) is not tuple:
            tags = _tags(tags)
        done = Completed(context, status, response_ms, bytes_in, bytes_out, tags)
        if not self._settings.usage_enabled:
            return None
        if started_at is None:
            started_at = self._clock.now() - (response_ms or 0.0) / 1000
        elif not (type(started_at) is float and 0.0 <= started_at <= _LATEST):
            started_at = _started_at(started_at)
        entry = (started_at, verdict, done, principal)
        recorder = self.recorder
        if recorder.append_now(entry):
            return None
        return recorder.offer(entry)

    async def report(
        self, principal: Principal, reports: Sequence[Mapping[str, Any]]
    ) -> ReportOutcome:
        """Record requests verified and answered elsewhere (needs ``keys.verify``,
        as verification does), each a mapping of ``REPORT_FIELDS`` (``key_id``
        None for an answer without a key). All or nothing: a bad report raises
        ``ValidationError`` naming it (``records[3].status``) and nothing is
        recorded. A report naming a key that is not one of the caller's (unknown,
        deleted, of another workspace or outside its APIs or owner) is still recorded,
        for the caller's workspace only, like a NOT_FOUND verification: nothing
        is ever attributed to a key the caller cannot see, and the answer is the
        same whether such a key exists elsewhere or not."""
        principal.require("keys.verify")
        if isinstance(reports, str | bytes) or len(reports) > MAX_REPORTS:
            raise ValidationError(f"at most {MAX_REPORTS} reports at a time", field="records")
        now = self._clock.now()
        oldest = now - self._settings.usage_raw_retention_days * _DAY_S
        latest = now + FUTURE_SLACK_S
        workspace_id = principal.workspace_id
        records = [_checked(i, r, oldest, latest, workspace_id) for i, r in enumerate(reports)]
        keys: dict[str, Key | None] = {}
        for record in records:
            if record.key_id is not None and record.key_id not in keys:
                keys[record.key_id] = await self._visible_key(principal, record.key_id)
        attributed = [_attributed(record, keys) for record in records]
        unattributed = sum(1 for r in records if r.key_id is not None and keys[r.key_id] is None)
        if not self._settings.usage_enabled:
            return ReportOutcome(0, unattributed)
        for record in attributed:
            await self.recorder.add(record)
        return ReportOutcome(len(attributed), unattributed)

    async def _visible_key(self, principal: Principal, key_id: str) -> Key | None:
        key = await self._store.get_key(principal.workspace_id, key_id)
        if key is None or not principal.sees_api(key.api_id):
            return None
        return key if principal.sees_owner(key.owner_id) else None

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


def _checked(
    index: int, report: Mapping[str, Any], oldest: float, latest: float, workspace_id: str
) -> UsageRecord:
    """The record of one report, not attributed yet (``key_id`` as reported);
    ``ValidationError`` names the report and the field."""
    try:
        if not isinstance(report, Mapping):
            raise ValidationError("a report is an object", field="")
        unknown = sorted(set(report) - REPORT_FIELDS)
        if unknown:
            raise ValidationError(f"{unknown[0]} is not a report field", field=unknown[0])
        code = report.get("code")
        if code not in _CODES:
            raise ValidationError("code is a verification code, e.g. VALID", field="code")
        texts = [report.get(name) for name in _TEXTS]
        for name, value in zip(_TEXTS, texts, strict=True):
            if value is not None and (
                not isinstance(value, str) or len(value) > MAX_TEXT or problem_of(value)
            ):
                raise ValidationError(
                    f"{name} is text of at most {MAX_TEXT} characters, without NUL "
                    "characters or lone surrogates",
                    field=name,
                )
        key_id, ip, user_agent, method, path = texts
        return UsageRecord(
            at=_moment(report.get("at"), oldest, latest),
            workspace_id=workspace_id,
            api_id=None,
            key_id=key_id or None,
            owner_id=None,
            code=str(code),
            ip=ip,
            user_agent=user_agent,
            method=method,
            path=path,
            status=_status(report.get("status")),
            response_ms=_amount(report.get("response_ms"), "response_ms"),
            bytes_in=_bytes(report.get("bytes_in"), "bytes_in"),
            bytes_out=_bytes(report.get("bytes_out"), "bytes_out"),
            tags=_tags(report.get("tags") or ()),
        )
    except ValidationError as exc:
        field = f"records[{index}]" + (f".{exc.field}" if exc.field else "")
        raise ValidationError(exc.detail, field=field) from None


def _attributed(record: UsageRecord, keys: dict[str, Key | None]) -> UsageRecord:
    """The record with its key's API and owner, or without a key at all when the
    caller cannot see it."""
    key = None if record.key_id is None else keys.get(record.key_id)
    if key is None:
        return record._replace(key_id=None)
    return record._replace(api_id=key.api_id, owner_id=key.owner_id)


def _moment(value: object, oldest: float, latest: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not oldest <= value <= latest
    ):
        raise ValidationError(
            "at is the request's time in epoch seconds, within the raw usage retention "
            "and not in the future",
            field="at",
        )
    return float(value)


def _started_at(value: object) -> float:
    """A time a store can hold (NaN, infinities and years past 9999 cannot be)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= _LATEST:
        raise ValidationError(
            "started_at is a time in epoch seconds, 1970 to 9999", field="started_at"
        )
    return float(value)


_MAX_BYTES = 2**63
_LATEST = 253_402_300_799.0
"""9999-12-31T23:59:59Z: the last moment a store's date-time holds."""


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
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _MAX_BYTES:
        raise ValidationError(f"{name} is a whole number of bytes, 0 or more", field=name)
    return value


def _tags(values: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str) or len(values) > MAX_TAGS:
        raise ValidationError(f"tags is a list of at most {MAX_TAGS} texts", field="tags")
    for tag in values:
        if not isinstance(tag, str) or not 1 <= len(tag) <= MAX_TAG_LENGTH or problem_of(tag):
            raise ValidationError(
                f"a tag is text of 1 to {MAX_TAG_LENGTH} characters, without NUL "
                "characters or lone surrogates",
                field="tags",
            )
    return tuple(values)


__all__ = [
    "MAX_REPORTS",
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "REPORT_FIELDS",
    "ReportOutcome",
    "UsageService",
]
