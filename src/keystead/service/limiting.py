"""A key's limits, compiled once per cache load, and the decision at verify time.

``KeyLimits.build`` resolves the plan, the key's own set, the owner's set and
the API's per-IP limits into counter names and specs, so the hot path only
builds ``Check`` tuples. Results of owner limits are labelled ``owner.<name>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from keystead.core.models import Api, Key, Owner, Plan
from keystead.limits import Check, Credits, RateLimit, Spec
from keystead.service import counters, limit_fields


@dataclass(slots=True, frozen=True)
class KeyLimits:
    checks: tuple[tuple[str, Spec], ...] = ()
    labels: tuple[str | None, ...] = ()
    """Per check: the name to report instead of the spec's (owner limits), or None."""
    credits_counter: str | None = None
    credits_spec: Credits | None = None
    quota_counter: str | None = None
    ip_prefix: str = ""
    ip_ratelimits: tuple[RateLimit, ...] = ()
    extra_prefix: str = ""
    failure_policy: str = "open"
    priority: int = 0
    unit_checks: tuple[Check, ...] = ()
    """``checks`` at cost 1: the common call needs no new tuples."""
    single_gcra: tuple[str, RateLimit] | None = None
    """Set when the key's only limit is one unlabelled GCRA rate limit."""
    relabel: bool = False

    active: bool = False
    """Whether anything is limited (a field, not a property: read on every verify)."""

    @classmethod
    def build(
        cls,
        key: Key,
        *,
        plan: Plan | None,
        owner: Owner | None,
        api: Api | None,
        credits_seed: int | None,
    ) -> KeyLimits:
        own = limit_fields.effective(None if plan is None else plan.limits, key.limits)
        prefix = counters.key_prefix(key.workspace_id, key.counter_id)
        checks: list[tuple[str, Spec]] = []
        labels: list[str | None] = []

        def add(name: str, spec: Spec, label: str | None = None) -> None:
            checks.append((name, spec))
            labels.append(label)

        for rate in own.ratelimits:
            add(f"{prefix}rl:{rate.name}:{_shape(rate)}", rate)
        if own.quota is not None:
            add(f"{prefix}q", own.quota)
        credits_spec = own.credits
        if credits_spec is not None:
            if credits_seed is not None:
                # the reconciled balance seeds a counter the limiter no longer has
                credits_spec = dataclasses.replace(credits_spec, remaining=credits_seed)
            add(f"{prefix}c", credits_spec)
        if own.concurrency is not None:
            add(f"{prefix}cc", own.concurrency)
        if owner is not None and owner.limits:
            shared = limit_fields.effective(None, owner.limits)
            oprefix = counters.owner_prefix(key.workspace_id, owner.owner_id)
            for rate in shared.ratelimits:
                add(f"{oprefix}rl:{rate.name}:{_shape(rate)}", rate, f"owner.{rate.name}")
            for suffix, spec in (
                ("q", shared.quota),
                ("c", shared.credits),
                ("cc", shared.concurrency),
            ):
                if spec is not None:
                    add(f"{oprefix}{suffix}", spec, f"owner.{spec.name}")
        api_limits: dict[str, Any] = {} if api is None else api.limits
        only = checks[0] if len(checks) == 1 else None
        single = (
            (only[0], only[1])
            if only is not None
            and isinstance(only[1], RateLimit)
            and only[1].algorithm == "gcra"
            and labels[0] is None
            else None
        )
        ip_ratelimits = tuple(RateLimit.from_dict(r) for r in api_limits.get("ip_ratelimits", ()))
        return cls(
            active=bool(checks) or bool(ip_ratelimits),
            single_gcra=single,
            relabel=any(label is not None for label in labels),
            unit_checks=tuple(Check(name, spec, 1) for name, spec in checks),
            checks=tuple(checks),
            labels=tuple(labels),
            credits_counter=None if own.credits is None else f"{prefix}c",
            credits_spec=own.credits,
            quota_counter=None if own.quota is None else f"{prefix}q",
            ip_prefix=counters.ip_prefix(key.workspace_id, key.api_id),
            ip_ratelimits=ip_ratelimits,
            extra_prefix=per_call_prefix(key.workspace_id, key.counter_id),
            failure_policy=str(api_limits.get("failure_policy", "open")),
            priority=0 if plan is None else plan.priority,
        )

    def checks_for(
        self, key: Key, cost: int, ip: str | None, extra: Sequence[RateLimit]
    ) -> Sequence[Check]:
        if cost == 1 and not extra and (ip is None or not self.ip_ratelimits):
            return self.unit_checks
        out = [*self.unit_checks] if cost == 1 else [Check(n, s, cost) for n, s in self.checks]
        # NO_LIMITS is shared by every key without limits: name per-call counters by key
        prefix = self.extra_prefix or per_call_prefix(key.workspace_id, key.counter_id)
        out.extend(per_call_checks(prefix, extra, cost))
        if ip is not None:
            for rate in self.ip_ratelimits:
                out.append(Check(f"{self.ip_prefix}{ip}:{rate.name}:{_shape(rate)}", rate, cost))
        return out


def per_call_prefix(workspace_id: str, counter_id: str) -> str:
    """Where a key's per-call limits (``ratelimits=`` of a verification) count,
    followed by the limit's name and shape: per key and name, so the key and
    its access tokens (``sub`` = the key id) spend one budget."""
    return counters.key_prefix(workspace_id, counter_id) + "x:"


def per_call_checks(prefix: str, extra: Sequence[RateLimit], cost: int) -> tuple[Check, ...]:
    """The checks of per-call limits under ``prefix`` (``per_call_prefix``),
    memoised: a gateway route or a guard passes the same limits on every call."""
    known = (prefix, tuple(extra), cost)
    checks = _PER_CALL.get(known)
    if checks is None:
        if len(_PER_CALL) >= _PER_CALL_KEPT:
            _PER_CALL.clear()
        checks = tuple(Check(f"{prefix}{rate.name}:{_shape(rate)}", rate, cost) for rate in extra)
        _PER_CALL[known] = checks
    return checks


_PER_CALL: dict[tuple[str, tuple[RateLimit, ...], int], tuple[Check, ...]] = {}
_PER_CALL_KEPT = 4096


def _shape(rate: RateLimit) -> str:
    """A rate limit's counter carries its shape: a GCRA state is debt in units
    of the old interval, so a changed limit starts a fresh counter instead of
    misreading the old one. Quotas (a used count) and credits (a balance) keep
    their counters across changes."""
    kind = "g" if rate.algorithm == "gcra" else "w"
    return f"{rate.limit}/{rate.duration_s:g}/{rate.effective_burst}{kind}"


NO_LIMITS = KeyLimits()
