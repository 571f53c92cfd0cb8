"""What-if replay: the last N days of recorded uses against a proposed limit set.

"What happens if we lower the free tier to 1,000/day?" The proposal takes the
place it would take: a plan's limits (keys' own entries still win over them,
as ``limit_fields.effective`` merges), or a key's own limits (for one key, or
for every key of an API; their plans fill in what the proposal leaves out).
Each key's recorded uses that reached the limits (``REPLAY_CODES``) are
replayed in time order on fresh counters (``limits.replay``: the memory
limiter's arithmetic), one unit per use. Owner-wide and per-IP limits are
left out: the answer is what the proposed key limits alone would refuse.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from keystead.core.authz import Principal
from keystead.core.ids import looks_like_id
from keystead.core.usage import GRANULARITIES
from keystead.errors import NotFound, ValidationError
from keystead.limits.replay import Replay
from keystead.service import limit_fields
from keystead.store.analytics import ReplayScope
from keystead.store.base import Store

MAX_DAYS = 31
MAX_RECORDS = 2_000_000
"""Recorded uses one replay reads at most (a narrower scope or fewer days beyond)."""
MAX_TOP = 100
_PROPOSAL_FIELDS = frozenset({"ratelimits", "quota", "credits"})


@dataclass(frozen=True, slots=True)
class Refusals:
    """One key's or owner's replayed uses and how many would have been refused."""

    id: str | None
    requests: int
    refused: int
    owner_id: str | None = None


@dataclass(frozen=True, slots=True)
class WhatIf:
    scope: str
    scope_id: str
    proposal: Mapping[str, Any]
    start: datetime
    end: datetime
    covered_from: datetime
    """Where the replay starts: ``start``, or later when raw records are gone."""
    granularity: str
    requests: int
    refused: int
    keys_replayed: int
    keys_refused: int
    owners_refused: int
    keys: list[Refusals]
    owners: list[Refusals]
    buckets: list[tuple[datetime, int, int]]
    """(bucket start, uses, would-be refusals), zero-filled."""
    notes: list[str] = field(default_factory=list)


async def what_if(
    store: Store,
    now: float,
    raw_retention_s: float,
    principal: Principal,
    *,
    plan_id: str | None = None,
    key_id: str | None = None,
    api_id: str | None = None,
    proposal: object,
    days: int = 7,
    granularity: str = "hour",
    top: int = 20,
) -> WhatIf:
    principal.require("usage.read")
    scope_name, scope_id = _scope(plan_id, key_id, api_id)
    proposed = _proposal(proposal)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"days is 1 to {MAX_DAYS}", field="days")
    if granularity not in GRANULARITIES:
        raise ValidationError("granularity is minute, hour or day", field="granularity")
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise ValidationError(f"top is 1 to {MAX_TOP}", field="top")
    size = GRANULARITIES[granularity]
    first = math.floor((now - days * 86_400) / size) * size
    count = math.ceil((now - first) / size)
    if count > 2000:
        raise ValidationError(
            f"{count} {granularity} buckets: at most 2000, choose a coarser granularity",
            field="granularity",
        )
    ws = principal.workspace_id
    scope = await _visible(store, principal, scope_name, scope_id)
    start = now - days * 86_400
    covered = max(start, now - raw_retention_s)
    notes: list[str] = []
    if covered > start:
        notes.append(
            f"raw usage is kept {raw_retention_s / 86_400:g} days: the replay covers "
            f"{(now - covered) / 86_400:g} of the {days} days asked"
        )
    t0, t1 = _at(covered), _at(now)
    if await store.count_usage_to_replay(ws, scope, start=t0, end=t1) > MAX_RECORDS:
        raise ValidationError(
            f"more than {MAX_RECORDS} recorded uses to replay: choose fewer days or a key",
            field="days",
        )
    rows = await store.usage_to_replay(ws, scope, start=t0, end=t1)
    limits_of = await _limit_sets(store, ws, scope_name, proposed, [r[0] for r in rows], notes)
    per_bucket = Counter[int]()
    refused_bucket = Counter[int]()
    keys: list[Refusals] = []
    owners: dict[str | None, list[int]] = {}
    for key, owner, times in rows:
        refused_times = limits_of[key].refused(times)
        per_bucket.update([int((t - first) // size) for t in times])
        refused_bucket.update([int((t - first) // size) for t in refused_times])
        keys.append(Refusals(key, len(times), len(refused_times), owner))
        tally = owners.setdefault(owner, [0, 0])
        tally[0] += len(times)
        tally[1] += len(refused_times)
    by_owner = [Refusals(o, t[0], t[1]) for o, t in owners.items()]
    return WhatIf(
        scope=scope_name,
        scope_id=scope_id,
        proposal=proposed,
        start=_at(start),
        end=_at(now),
        covered_from=_at(covered),
        granularity=granularity,
        requests=sum(k.requests for k in keys),
        refused=sum(k.refused for k in keys),
        keys_replayed=len(keys),
        keys_refused=sum(1 for k in keys if k.refused),
        owners_refused=sum(1 for o in by_owner if o.refused),
        keys=_top(keys, top),
        owners=_top(by_owner, top),
        buckets=[(_at(first + b * size), per_bucket[b], refused_bucket[b]) for b in range(count)],
        notes=notes,
    )


def _scope(plan_id: object, key_id: object, api_id: object) -> tuple[str, str]:
    given = [
        (name, value)
        for name, value in (("plan", plan_id), ("key", key_id), ("api", api_id))
        if value is not None
    ]
    if len(given) != 1:
        raise ValidationError("name exactly one of plan_id, key_id and api_id", field="scope")
    name, value = given[0]
    if not isinstance(value, str) or not looks_like_id(name, value):
        raise ValidationError(f"{name}_id is the id of a {name}", field=f"{name}_id")
    return name, value


def _proposal(value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError("the proposal is a limit set (a JSON object)", field="proposal")
    if "concurrency" in value:
        raise ValidationError(
            "concurrency cannot be replayed: usage records hold no time in flight",
            field="proposal.concurrency",
        )
    unknown = sorted(str(k) for k in value if k not in _PROPOSAL_FIELDS)
    if unknown:
        raise ValidationError(f"unknown limit '{unknown[0]}'", field=f"proposal.{unknown[0]}")
    try:
        return limit_fields.limit_set(value)
    except ValidationError as error:
        name = f"proposal.{error.field}" if error.field else "proposal"
        raise ValidationError(error.detail, field=name) from None


async def _visible(store: Store, principal: Principal, scope: str, scope_id: str) -> ReplayScope:
    """The records the principal may replay; NotFound for what it cannot see."""
    ws, narrow = principal.workspace_id, principal.api_ids
    if scope == "key":
        key = await store.get_key(ws, scope_id)
        if (
            key is None
            or not principal.sees_api(key.api_id)
            or not principal.sees_owner(key.owner_id)
        ):
            raise NotFound(f"no key '{scope_id}'")
        return ReplayScope(key_id=scope_id)
    if scope == "api":
        if not principal.sees_api(scope_id) or await store.get_api(ws, scope_id) is None:
            raise NotFound(f"no API '{scope_id}'")
        return ReplayScope(api_id=scope_id, owner_id=principal.owner_id)
    if await store.get_plan(ws, scope_id) is None:
        raise NotFound(f"no plan '{scope_id}'")
    return ReplayScope(plan_id=scope_id, api_ids=narrow, owner_id=principal.owner_id)


async def _limit_sets(
    store: Store,
    ws: str,
    scope: str,
    proposed: Mapping[str, Any],
    key_ids: list[str],
    notes: list[str],
) -> dict[str, Replay]:
    """A fresh replay of each key's limits under the proposal."""
    sets = await store.key_limit_sets(ws, key_ids)
    plans = {p.id: p.limits for p in await store.list_plans(ws)} if sets else {}
    out: dict[str, Replay] = {}
    skipped = False
    for key_id, (plan_id, own) in sets.items():
        plan_limits = plans.get(plan_id) if plan_id is not None else None
        if scope == "plan":
            limits = limit_fields.effective(proposed, own)
        else:
            limits = limit_fields.effective(plan_limits, proposed)
        skipped = skipped or limits.concurrency is not None
        out[key_id] = Replay(limits.ratelimits, limits.quota, limits.credits)
    for key_id in set(key_ids) - sets.keys():  # deleted since: the proposal alone
        base = limit_fields.effective(None, proposed)
        out[key_id] = Replay(base.ratelimits, base.quota, base.credits)
    if skipped:
        notes.append("concurrency limits are not replayed")
    return out


def _top(items: list[Refusals], top: int) -> list[Refusals]:
    ranked = sorted(items, key=lambda r: (-r.refused, -r.requests, r.id or ""))
    return ranked[:top]


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def what_if_json(result: WhatIf) -> dict[str, Any]:
    """The answer of ``POST /v1/analytics/what-if`` (and of the dashboard's chart)."""
    return {
        "scope": result.scope,
        "scope_id": result.scope_id,
        "proposal": dict(result.proposal),
        "from": _iso(result.start),
        "to": _iso(result.end),
        "covered_from": _iso(result.covered_from),
        "granularity": result.granularity,
        "totals": {
            "requests": result.requests,
            "refused": result.refused,
            "keys_replayed": result.keys_replayed,
            "keys_refused": result.keys_refused,
            "owners_refused": result.owners_refused,
        },
        "owners": [
            {"owner_id": o.id, "requests": o.requests, "refused": o.refused} for o in result.owners
        ],
        "keys": [
            {"key_id": k.id, "owner_id": k.owner_id, "requests": k.requests, "refused": k.refused}
            for k in result.keys
        ],
        "buckets": [
            {"start": _iso(start), "requests": uses, "refused": refused}
            for start, uses, refused in result.buckets
        ],
        "notes": list(result.notes),
    }


__all__ = ["MAX_DAYS", "MAX_RECORDS", "MAX_TOP", "Refusals", "WhatIf", "what_if", "what_if_json"]
