"""``/ui/keys/{key_id}``: a key's fields, limits with their live counters,
rotation lineage, recorded actions and usage (charts fed by
``/ui/data/keys/{key_id}/...``, top values tables)."""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import Response

from keystead.core.analytics import UsageSeries
from keystead.core.models import Key
from keystead.errors import NotFound, ValidationError
from keystead.web.pages import keys as _keys  # noqa: F401  (/ui/keys/new before {key_id})
from keystead.web.pages.keys import can
from keystead.web.routing import WebRequest, data, page

MAX_LINEAGE = 10
TOP_COLUMNS = (
    ("ip", "Client IPs"),
    ("country", "Countries"),
    ("user_agent", "User agents"),
    ("path", "Paths"),
)
SPANS = {"hour": 3600, "day": 86_400, "week": 7 * 86_400, "month": 30 * 86_400}
GRACE_CHOICES = (
    (0, "none: the old key stops now"),
    (3600, "1 hour"),
    (86_400, "1 day"),
    (7 * 86_400, "7 days"),
)


async def lineage(req: WebRequest, key: Key) -> list[Key]:
    """The rotation chain through ``key``, oldest first: each key read through
    the service (a link the session cannot see ends the chain there)."""

    async def step(key_id: str | None) -> Key | None:
        if key_id is None:
            return None
        try:
            return await req.ks.keys.get(req.principal, key_id)
        except NotFound:
            return None

    before: list[Key] = []
    found = await step(key.rotated_from)
    while found is not None and len(before) < MAX_LINEAGE:
        before.append(found)
        found = await step(found.rotated_from)
    after: list[Key] = []
    found = await step(key.rotated_to)
    while found is not None and len(after) < MAX_LINEAGE:
        after.append(found)
        found = await step(found.rotated_to)
    return [*reversed(before), key, *after]


@page("/ui/keys/{key_id}")
async def key_detail(req: WebRequest) -> Response:
    key_id = req.path("key_id")
    key = await req.ks.keys.get(req.principal, key_id)
    now = req.ks.clock.now()
    counters = await req.ks.keys.counters(req.principal, key.id)
    api = await req.ks.apis.get(req.principal, key.api_id) if can(req, "apis.read") else None
    plan = None
    if key.plan_id is not None and can(req, "plans.read"):
        plan = await req.ks.plans.get(req.principal, key.plan_id)
    actions = (await req.ks.actions.list(req.principal, key.id, limit=20)).items
    incidents = []
    if can(req, "incidents.read"):
        incidents = (await req.ks.incidents.list(req.principal, key_id=key.id, limit=20)).items
    span = req.query("span") or "day"
    if span not in SPANS:
        raise ValidationError(f"span is one of {', '.join(SPANS)}", field="span")
    tops: list[tuple[str, list[tuple[str, int]]]] = []
    if can(req, "usage.read"):
        start = now - SPANS[span]
        for by, label in TOP_COLUMNS:
            found = await req.ks.analytics.top(req.principal, key_id=key.id, start=start, by=by)
            tops.append((label, found.items))
    return req.render(
        "ui/keys/detail.html",
        key=key,
        state=key.state_at(now),
        api=api,
        plan=plan,
        counters=counters,
        chain=await lineage(req, key),
        actions=actions,
        incidents=incidents,
        tops=tops,
        span=span,
        spans=tuple(SPANS),
        grace_choices=GRACE_CHOICES,
        done=req.query("done"),
        may={
            name: can(req, name)
            for name in (
                "keys.update",
                "keys.rotate",
                "keys.revoke",
                "keys.create",
                "incidents.write",
                "usage.read",
            )
        },
    )


def _when(req: WebRequest, name: str) -> float | None:
    """``since``/``until`` from a chart's zoom: epoch seconds."""
    value = req.query(name)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise ValidationError(f"{name} is epoch seconds", field=name) from None
    if not math.isfinite(seconds):
        raise ValidationError(f"{name} is epoch seconds", field=name)
    return seconds


async def _series(req: WebRequest) -> UsageSeries:
    return await req.ks.analytics.series(
        req.principal,
        key_id=req.path("key_id"),
        start=_when(req, "since"),
        end=_when(req, "until"),
        granularity=req.query("granularity") or "hour",
    )


def _x(series: UsageSeries) -> list[int]:
    return [int(b.start or 0) for b in series.buckets]


@data("/ui/data/keys/{key_id}/usage")
async def usage_data(req: WebRequest) -> dict[str, Any]:
    """Verifications per bucket, one series per outcome (VALID, RATE_LIMITED, ...)."""
    series = await _series(req)
    codes = sorted({code for b in series.buckets for code in b.codes})
    lines = [
        {"label": code, "values": [b.codes.get(code, 0) for b in series.buckets]} for code in codes
    ] or [{"label": "requests", "values": [b.total for b in series.buckets]}]
    return {"x": _x(series), "series": lines, "unit": "requests", "granularity": series.granularity}


@data("/ui/data/keys/{key_id}/latency")
async def latency_data(req: WebRequest) -> dict[str, Any]:
    """Latency p50 and p99 per bucket, in ms (null where a bucket has none)."""
    series = await _series(req)
    return {
        "x": _x(series),
        "series": [
            {"label": "p50", "values": [b.latency_p50_ms for b in series.buckets]},
            {"label": "p99", "values": [b.latency_p99_ms for b in series.buckets]},
        ],
        "unit": "ms",
        "granularity": series.granularity,
    }


__all__ = ["lineage"]
