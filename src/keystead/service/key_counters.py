"""A key's limit counters read without spending: what an incident's evidence
and the dashboard's key page show (rate limits' remaining, quota used,
credits left), shared along the key's rotation chain."""

from __future__ import annotations

from typing import Any

from keystead.core.models import Key
from keystead.errors import LimiterUnavailable
from keystead.limits import Check, Quota, RateLimit
from keystead.service.context import ServiceContext
from keystead.service.limiting import KeyLimits


async def read_counters(ctx: ServiceContext, key: Key) -> dict[str, Any]:
    """``{"ratelimits": [{name, limit, remaining}], "quota": {used, limit} | None,
    "credits_remaining": int | None}``; ``unavailable`` when the limiter did not answer."""
    plan = None
    if key.plan_id is not None:
        plan = await ctx.store.get_plan(key.workspace_id, key.plan_id)
    limits = KeyLimits.build(key, plan=plan, owner=None, api=None, credits_seed=None)
    now = ctx.clock.now()
    out: dict[str, Any] = {"ratelimits": [], "quota": None, "credits_remaining": None}
    try:
        rates = [Check(n, s, 0) for n, s in limits.checks if isinstance(s, RateLimit)]
        if rates:
            decision = await ctx.limiter.decide(rates, now)
            out["ratelimits"] = [
                {"name": r.name, "limit": r.limit, "remaining": r.remaining}
                for r in decision.results
            ]
        for name, spec in limits.checks:
            if isinstance(spec, Quota):
                usage = await ctx.limiter.quota_usage(name, spec, now)
                out["quota"] = {"used": usage.used, "limit": usage.limit}
        if limits.credits_counter is not None and limits.credits_spec is not None:
            live = await ctx.limiter.get_credits(limits.credits_counter, limits.credits_spec, now)
            if live is None:
                live = await ctx.store.get_credits_remaining(key.id)
            out["credits_remaining"] = limits.credits_spec.remaining if live is None else live
    except LimiterUnavailable:
        out["unavailable"] = "the limiter did not answer; counters are missing"
    return out


__all__ = ["read_counters"]
