"""The overview (``/ui/``): traffic over time, the busiest keys and owners, open
alerts, recent audit entries and the webhook dead letter. Each section shows
only when the principal holds its permission, through the same service calls
the ``/v1`` routes make.

Traffic is the workspace's: the sum of every visible API's usage series (an
owner-narrowed root key sees its owner's series instead)."""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

from keystead.core.analytics import SUCCESS_CODE, Summary
from keystead.errors import Forbidden, KeysteadError, ValidationError
from keystead.web.nav import allowed
from keystead.web.routing import WebRequest, data, page

MAX_APIS = 50
"""APIs summed into the workspace's traffic (the first ones; the page says so)."""
TOP = 10
SUCCESS = SUCCESS_CODE


async def _apis(req: WebRequest) -> list[Any]:
    return list(await req.ks.apis.list(req.principal))[:MAX_APIS]


async def _scopes(req: WebRequest) -> list[tuple[str | None, str | None]]:
    """``(api_id, owner_id)`` per series to add up: the visible APIs, or the
    principal's owner when it is narrowed to one."""
    if req.principal.owner_id is not None:
        return [(None, req.principal.owner_id)]
    return [(api.id, None) for api in await _apis(req)]


async def _buckets(req: WebRequest) -> tuple[str, list[int], list[list[Summary]]]:
    """The granularity asked for, bucket starts, and per bucket each scope's summary."""
    granularity = req.query("granularity") or "hour"
    if granularity not in ("minute", "hour", "day"):
        raise ValidationError("granularity is minute, hour or day", field="granularity")
    end: object = req.query("until") or req.ks.clock.now()
    start = req.query("since")
    analytics = req.ks.analytics
    scopes = await _scopes(req)
    starts: list[int] = []
    per_bucket: list[list[Summary]] = []
    for api_id, owner_id in scopes:
        series = await analytics.series(
            req.principal,
            api_id=api_id,
            owner_id=owner_id,
            start=start,
            end=end,
            granularity=granularity,
        )
        if not starts:
            starts = [int(b.start or 0) for b in series.buckets]
            per_bucket = [[] for _ in starts]
        for i, bucket in enumerate(series.buckets[: len(starts)]):
            per_bucket[i].append(bucket)
    return granularity, starts, per_bucket


@data("/ui/data/overview/requests")
async def requests_data(req: WebRequest) -> dict[str, Any]:
    """Verifications per bucket: succeeded and refused."""
    _, starts, buckets = await _buckets(req)
    ok = [sum(s.success for s in b) for b in buckets]
    refused = [sum(s.failure for s in b) for b in buckets]
    series = [{"label": "Succeeded", "values": ok}, {"label": "Refused", "values": refused}]
    return {"x": starts, "series": series, "unit": "requests"}


@data("/ui/data/overview/success-rate")
async def success_rate_data(req: WebRequest) -> dict[str, Any]:
    """Percentage of verifications that succeeded (null for an empty bucket)."""
    _, starts, buckets = await _buckets(req)
    rates: list[float | None] = []
    for bucket in buckets:
        total = sum(s.total for s in bucket)
        rates.append(round(100 * sum(s.success for s in bucket) / total, 2) if total else None)
    return {"x": starts, "series": [{"label": "Success rate", "values": rates}], "unit": "%"}


@data("/ui/data/overview/refusals")
async def refusals_data(req: WebRequest) -> dict[str, Any]:
    """Refused verifications per bucket, one series per refusal code."""
    _, starts, buckets = await _buckets(req)
    codes = sorted({c for b in buckets for s in b for c in s.codes if c != SUCCESS})
    series = [
        {"label": code, "values": [sum(s.codes.get(code, 0) for s in b) for b in buckets]}
        for code in codes
    ]
    return {"x": starts, "series": series, "unit": "refusals"}


async def _top(req: WebRequest, by: str) -> list[tuple[str, int]]:
    """The busiest keys or owners of the last day, from the hour rollups: the
    workspace's, or those of the keys a narrowed root key sees."""
    now = datetime.fromtimestamp(req.ks.clock.now(), UTC)
    since = now - timedelta(days=1)
    top = await req.ks.analytics.top(req.principal, start=since, end=now, by=by, limit=TOP)
    return list(top.items)


async def _top_keys(req: WebRequest) -> list[dict[str, Any]]:
    rows = []
    names = allowed(req.principal, ("keys.read",))
    for key_id, count in await _top(req, "key_id"):
        key = None
        if names:
            try:
                key = await req.ks.keys.get(req.principal, key_id)
            except KeysteadError:
                key = None
        rows.append({"id": key_id, "count": count, "key": key})
    return rows


async def _shown(permission: str, req: WebRequest, call: Coroutine[Any, Any, Any]) -> Any:
    """``call``'s answer, or None when the principal may not see that section
    (lacks ``permission``, or the service refuses it, e.g. a narrowed root key
    and the workspace-wide audit log)."""
    if not allowed(req.principal, (permission,)):
        call.close()
        return None
    try:
        return await call
    except Forbidden:
        return None


@page("/ui/")
async def overview(req: WebRequest) -> Response:
    p = req.principal
    ks = req.ks
    usage = allowed(p, ("usage.read",)) and (p.owner_id is not None or allowed(p, ("apis.read",)))
    context: dict[str, Any] = {"usage": usage}
    if usage:
        context["top_keys"] = await _top_keys(req)
        if p.owner_id is None:
            context["top_owners"] = await _top(req, "owner_id")
    alerts = await _shown("alerts.read", req, ks.alerts.list(p, status="open", limit=TOP))
    audit = await _shown("audit.read", req, ks.audit.list(p, limit=TOP))
    dead = await _shown("webhooks.read", req, ks.webhooks.deliveries(p, status="dead", limit=TOP))
    context["alerts"] = None if alerts is None else alerts.items
    context["audit"] = None if audit is None else audit.items
    context["dead"] = None if dead is None else dead.items
    return req.render("ui/overview/index.html", **context)
