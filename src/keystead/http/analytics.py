"""``/v1/analytics``: usage series and top values of a key, owner or API
(docs/monitoring.md, "Analytics"). Needs ``usage.read``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from keystead.core.analytics import series_json, top_json
from keystead.http.auth import Auth, Service
from keystead.http.fieldtypes import RequestModel
from keystead.http.limit_schemas import CreditsIn, QuotaIn, RateLimits
from keystead.http.openapi import FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import ObjectId
from keystead.service.what_if import MAX_DAYS, MAX_TOP, what_if_json

router = make_router(prefix="/v1/analytics", tags=["analytics"])

KeyId = Annotated[ObjectId | None, Query(description="one key's usage")]
OwnerId = Annotated[str | None, Query(max_length=200, description="one owner's usage")]
ApiId = Annotated[ObjectId | None, Query(description="one API's usage")]
From = Annotated[
    str | None,
    Query(max_length=64, alias="from", description="ISO 8601, inclusive (default: before to)"),
]
To = Annotated[
    str | None, Query(max_length=64, alias="to", description="ISO 8601, exclusive (default: now)")
]
AfterLeak = Annotated[
    bool, Query(description="a leaked key's uses from its leak time on (leaked_key_used)")
]


class LatencyOut(BaseModel):
    avg: float | None
    p50: float | None
    p99: float | None


class SummaryOut(BaseModel):
    total: int
    codes: dict[str, int]
    success: int
    failure: int
    status_4xx: int
    status_5xx: int
    with_status: int
    error_rate: float | None
    latency_ms: LatencyOut
    bytes_in: int
    bytes_out: int
    distinct_ips: int
    distinct_user_agents: int


class BucketOut(SummaryOut):
    start: str


class SeriesOut(BaseModel):
    scope: str
    scope_id: str
    granularity: str
    from_: str = Field(alias="from")
    to: str
    last_used_at: str | None
    leaked_at: str | None = None
    totals: SummaryOut
    buckets: list[BucketOut]


class TopItemOut(BaseModel):
    value: str
    count: int


class TopOut(BaseModel):
    scope: str
    scope_id: str
    by: str
    from_: str = Field(alias="from")
    to: str
    items: list[TopItemOut]


@router.get("/usage", summary="Usage series of a key, owner or API", responses=FOUND)
async def usage_series(
    ks: Service,
    principal: Auth,
    key_id: KeyId = None,
    owner_id: OwnerId = None,
    api_id: ApiId = None,
    since: From = None,
    until: To = None,
    granularity: Annotated[str, Query(max_length=16, description="minute, hour or day")] = "hour",
    after_leak: AfterLeak = False,
) -> SeriesOut:
    """Name exactly one of ``key_id``, ``owner_id``, ``api_id``. One bucket per
    ``granularity`` step in [from, to), none missing (empty ones are zeros);
    at most 2000 buckets. ``leaked_at``: when the key leaked, if it did;
    ``after_leak`` starts the series there."""
    series = await ks.analytics.series(
        principal,
        key_id=key_id,
        owner_id=owner_id,
        api_id=api_id,
        start=since,
        end=until,
        granularity=granularity,
        after_leak=after_leak,
    )
    return SeriesOut.model_validate(series_json(series))


@router.get(
    "/top",
    summary="Most frequent values in a key's, owner's or API's usage",
    responses=FOUND,
)
async def usage_top(
    ks: Service,
    principal: Auth,
    key_id: KeyId = None,
    owner_id: OwnerId = None,
    api_id: ApiId = None,
    since: From = None,
    until: To = None,
    by: Annotated[
        str, Query(max_length=16, description="ip, country, user_agent, path, key_id or owner_id")
    ] = "ip",
    limit: Annotated[int, Query(ge=1, le=100, description="how many values")] = 10,
    after_leak: AfterLeak = False,
) -> TopOut:
    """The most frequent values of ``by`` among the raw usage records in
    [from, to) (default: the last day), most frequent first. Naming no scope
    with ``by`` key_id or owner_id: the workspace's busiest keys or owners, from
    the hour rollups (whole hours from the hour of ``from``; a root key
    narrowed to APIs or an owner gets 403)."""
    top = await ks.analytics.top(
        principal,
        key_id=key_id,
        owner_id=owner_id,
        api_id=api_id,
        start=since,
        end=until,
        by=by,
        limit=limit,
        after_leak=after_leak,
    )
    return TopOut.model_validate(top_json(top))


class ProposalIn(RequestModel):
    """The proposed limit set (concurrency cannot be replayed: no time in flight is recorded)."""

    ratelimits: RateLimits | None = None
    quota: QuotaIn | None = None
    credits: CreditsIn | None = None


class WhatIfIn(RequestModel):
    plan_id: ObjectId | None = Field(None, description="replace this plan's limits")
    key_id: ObjectId | None = Field(None, description="replace this key's own limits")
    api_id: ObjectId | None = Field(None, description="replace the own limits of this API's keys")
    proposal: ProposalIn
    days: int = Field(7, ge=1, le=MAX_DAYS, description="replay the last N days")
    granularity: str = Field("hour", max_length=16, description="minute, hour or day")
    top: int = Field(20, ge=1, le=MAX_TOP, description="owners and keys listed")


class WhatIfTotalsOut(BaseModel):
    requests: int
    refused: int
    keys_replayed: int
    keys_refused: int
    owners_refused: int


class WhatIfOwnerOut(BaseModel):
    owner_id: str | None
    requests: int
    refused: int


class WhatIfKeyOut(WhatIfOwnerOut):
    key_id: str


class WhatIfBucketOut(BaseModel):
    start: str
    requests: int
    refused: int


class WhatIfOut(BaseModel):
    scope: str
    scope_id: str
    proposal: dict[str, Any]
    from_: str = Field(alias="from")
    to: str
    covered_from: str
    granularity: str
    totals: WhatIfTotalsOut
    owners: list[WhatIfOwnerOut]
    keys: list[WhatIfKeyOut]
    buckets: list[WhatIfBucketOut]
    notes: list[str]


@router.post(
    "/what-if",
    summary="Replay recorded usage against proposed limits",
    responses={**WITH_BODY, **FOUND},
)
async def what_if(body: WhatIfIn, ks: Service, principal: Auth) -> WhatIfOut:
    """Name exactly one of ``plan_id``, ``key_id``, ``api_id``. Replays the last
    ``days`` of recorded uses that reached the limits, on fresh counters, and
    answers who would have been refused and when (``buckets``). ``covered_from``
    is later than ``from`` when raw usage is kept for fewer days (``notes`` says so)."""
    result = await ks.analytics.what_if(
        principal,
        plan_id=body.plan_id,
        key_id=body.key_id,
        api_id=body.api_id,
        proposal=body.proposal.model_dump(exclude_none=True),
        days=body.days,
        granularity=body.granularity,
        top=body.top,
    )
    return WhatIfOut.model_validate(what_if_json(result))


__all__ = ["router"]
