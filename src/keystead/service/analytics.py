"""``Keystead.analytics``: usage series from the rollups, top values from the
raw records (docs/monitoring.md, "Analytics"). Reads need ``usage.read``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from keystead.core.analytics import MAX_BUCKETS, TopValues, UsageSeries, merged, summarise
from keystead.core.authz import Principal
from keystead.core.clock import Clock
from keystead.core.ids import looks_like_id
from keystead.core.usage import GRANULARITIES, Rollup, bucket_start, tiles
from keystead.errors import NotFound, ValidationError
from keystead.service import fields
from keystead.service.leak_times import leaked_at
from keystead.service.what_if import WhatIf, what_if
from keystead.store.analytics import TOP_COLUMNS
from keystead.store.base import Store

MAX_TOP = 100
_ROLLED_UP = {"key_id": "key", "owner_id": "owner"}
"""What a workspace-wide top groups by, and the rollup scope it reads."""
_DEFAULT_SPAN = {"minute": 3600, "hour": 86_400, "day": 30 * 86_400}
"""How far back ``from`` defaults to before ``to``, by granularity."""


class AnalyticsService:
    def __init__(self, store: Store, clock: Clock, raw_retention_s: float = 30 * 86_400) -> None:
        self._store = store
        self._clock = clock
        self._raw_retention_s = raw_retention_s

    async def what_if(
        self,
        principal: Principal,
        *,
        plan_id: str | None = None,
        key_id: str | None = None,
        api_id: str | None = None,
        proposal: Mapping[str, Any],
        days: int = 7,
        granularity: str = "hour",
        top: int = 20,
    ) -> WhatIf:
        """Replay the last ``days`` of a plan's, a key's or an API's recorded uses
        against ``proposal`` (a limit set): who would have been refused, and when
        (``service.what_if``). Needs ``usage.read``."""
        return await what_if(
            self._store,
            self._clock.now(),
            self._raw_retention_s,
            principal,
            plan_id=plan_id,
            key_id=key_id,
            api_id=api_id,
            proposal=proposal,
            days=days,
            granularity=granularity,
            top=top,
        )

    async def series(
        self,
        principal: Principal,
        *,
        key_id: str | None = None,
        owner_id: str | None = None,
        api_id: str | None = None,
        start: object = None,
        end: object = None,
        granularity: str = "hour",
        after_leak: bool = False,
    ) -> UsageSeries:
        """Buckets of one key, owner or API in [start, end), zero-filled.

        ``start``/``end``: datetimes, ISO 8601 strings or epoch seconds; ``end``
        defaults to now, ``start`` to an hour, a day or 30 days before it.
        ``after_leak`` (a key that leaked): from its leak time on, no earlier;
        the first bucket is whole, so use minutes to see the leak's own hour."""
        principal.require("usage.read")
        if granularity not in GRANULARITIES:
            raise ValidationError("granularity is minute, hour or day", field="granularity")
        scope, scope_id = _scope(key_id, owner_id, api_id)
        last_used = await self._check_scope(principal, scope, scope_id)
        leak = await self._leak(principal, scope, scope_id, after_leak)
        t0, t1 = self._range(start, end, _DEFAULT_SPAN[granularity], leak if after_leak else None)
        size = GRANULARITIES[granularity]
        first = bucket_start(t0.timestamp(), granularity)
        count = math.ceil((t1.timestamp() - first) / size)
        if count > MAX_BUCKETS:
            raise ValidationError(
                f"{count} {granularity} buckets: at most {MAX_BUCKETS}, "
                "narrow the range or choose a coarser granularity",
                field="granularity",
            )
        ws = principal.workspace_id
        until = math.ceil(t1.timestamp())
        get = self._store.get_rollups
        rows = await get(ws, scope, scope_id, granularity, since=first, until=until, sketches=False)
        covering: list[Rollup] | None = None
        if all(r.counted_ips is not None and r.counted_user_agents is not None for _, r in rows):
            # the totals: the fewest rollups covering the range (whole days, then
            # hours...), sketches included, rather than every bucket's
            cover = tiles(first, first + count * size, granularity)
            covering = await self._store.rollups_in(ws, scope, scope_id, cover)
        else:  # rows from before stored counts: every bucket's sketches
            rows = await get(ws, scope, scope_id, granularity, since=first, until=until)
        by_bucket: dict[int, Rollup] = {}
        end_s = t1.timestamp()
        for key, rollup in rows:  # one row per bucket: merged only if a store gives more
            if key.bucket < end_s:
                into = by_bucket.get(key.bucket)
                if into is None:
                    by_bucket[key.bucket] = rollup
                else:
                    into.merge(rollup)
        starts = [first + i * size for i in range(count)]
        totals = merged(by_bucket.values() if covering is None else covering)
        return UsageSeries(
            scope=scope,
            scope_id=scope_id,
            granularity=granularity,
            start=t0,
            end=t1,
            buckets=[summarise(by_bucket.get(b, Rollup()), b) for b in starts],
            totals=summarise(totals),
            last_used_at=last_used,
            leaked_at=leak,
        )

    async def top(
        self,
        principal: Principal,
        *,
        key_id: str | None = None,
        owner_id: str | None = None,
        api_id: str | None = None,
        start: object = None,
        end: object = None,
        by: str = "ip",
        limit: int = 10,
        after_leak: bool = False,
    ) -> TopValues:
        """The most frequent client IPs, countries, user agents or paths of one
        scope's raw records in [start, end) (``start`` defaults to a day before;
        ``after_leak``: to the key's leak time, and never before it).

        With no scope named and ``by`` key_id or owner_id: the busiest keys or
        owners of the whole workspace, from the hour rollups (buckets starting
        in [the hour of start, end)); for a root key narrowed to APIs or an
        owner, of the keys it sees (their rollups, by key or by the key's owner)."""
        principal.require("usage.read")
        if by not in TOP_COLUMNS:
            raise ValidationError(f"by is one of {', '.join(TOP_COLUMNS)}", field="by")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_TOP:
            raise ValidationError(f"limit is 1 to {MAX_TOP}", field="limit")
        if key_id is None and owner_id is None and api_id is None and by in _ROLLED_UP:
            return await self._busiest(principal, start, end, by, limit, after_leak)
        scope, scope_id = _scope(key_id, owner_id, api_id)
        await self._check_scope(principal, scope, scope_id)
        leak = await self._leak(principal, scope, scope_id, after_leak)
        t0, t1 = self._range(start, end, 86_400, leak if after_leak else None)
        items = await self._store.top_usage(
            principal.workspace_id, scope, scope_id, start=t0, end=t1, by=by, limit=limit
        )
        return TopValues(scope, scope_id, by, t0, t1, items)

    async def _busiest(
        self, principal: Principal, start: object, end: object, by: str, limit: int, after: object
    ) -> TopValues:
        if after is not False:
            raise ValidationError("after_leak needs a key_id", field="after_leak")
        t0, t1 = self._range(start, end, 86_400)
        ws = principal.workspace_id
        since = bucket_start(t0.timestamp(), "hour")
        until = math.ceil(t1.timestamp())
        scope = _ROLLED_UP[by]
        items = await self._store.top_rolled_up(
            ws,
            scope,
            since=since,
            until=until,
            limit=limit,
            api_ids=principal.api_ids,
            owner_id=principal.owner_id,
        )
        return TopValues("workspace", ws, by, t0, t1, items)

    async def _leak(
        self, principal: Principal, scope: str, scope_id: str, after_leak: object
    ) -> datetime | None:
        """A key's leak time (None: not a key, or no leak); with ``after_leak``,
        the key must have one. Called once the principal is known to see it."""
        if not isinstance(after_leak, bool):
            raise ValidationError("after_leak is true or false", field="after_leak")
        if scope != "key":
            if after_leak:
                raise ValidationError("after_leak needs a key_id", field="after_leak")
            return None
        leak = None
        if looks_like_id("key", scope_id):
            leak = await leaked_at(self._store, principal.workspace_id, scope_id)
        if leak is None and after_leak:
            raise ValidationError(f"no leak of key '{scope_id}' was reported", field="after_leak")
        return leak

    def _range(
        self, start: object, end: object, span_s: int, floor: datetime | None = None
    ) -> tuple[datetime, datetime]:
        t1 = _time(end, "to") or datetime.fromtimestamp(self._clock.now(), UTC)
        t0 = _time(start, "from") or floor or t1 - timedelta(seconds=span_s)
        if floor is not None:
            t0 = max(t0, floor)
        if t0 >= t1:
            raise ValidationError("from must come before to", field="from")
        return t0, t1

    async def _check_scope(
        self, principal: Principal, scope: str, scope_id: str
    ) -> datetime | None:
        """NotFound unless the principal sees the whole scope; a key's last use."""
        ws = principal.workspace_id
        if scope == "key":
            key = None
            if looks_like_id("key", scope_id):
                key = await self._store.get_key(ws, scope_id)
            if (
                key is None
                or not principal.sees_api(key.api_id)
                or not principal.sees_owner(key.owner_id)
            ):
                raise NotFound(f"no key '{scope_id}'")
            return key.last_used_at
        if scope == "api":
            # an owner-narrowed root key sees only its owner's share of an API
            if principal.owner_id is not None or not principal.sees_api(scope_id):
                raise NotFound(f"no API '{scope_id}'")
            if await self._store.get_api(ws, scope_id) is None:
                raise NotFound(f"no API '{scope_id}'")
            return None
        # an owner's figures span APIs: an API-narrowed root key sees only some
        if not principal.sees_whole_owner(scope_id):
            raise NotFound(f"no owner '{scope_id}'")
        return None


def _scope(key_id: object, owner_id: object, api_id: object) -> tuple[str, str]:
    given = [
        (scope, value)
        for scope, value in (("key", key_id), ("owner", owner_id), ("api", api_id))
        if value is not None
    ]
    if len(given) != 1:
        raise ValidationError("name exactly one of key_id, owner_id and api_id", field="scope")
    scope, value = given[0]
    if not isinstance(value, str) or not 1 <= len(value) <= 200:
        raise ValidationError(f"{scope}_id is 1 to 200 characters", field=f"{scope}_id")
    return scope, value


def _time(value: object, name: str) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value) or not 0 <= value < 253_402_300_800:
            raise ValidationError(f"{name} must lie between 1970 and 9999", field=name)
        return datetime.fromtimestamp(value, UTC)
    return fields.timestamp(value, name)


__all__ = ["MAX_TOP", "AnalyticsService"]
