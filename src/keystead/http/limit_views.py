"""Response bodies of plans, owners and limit state."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from keystead.core.models import Owner, Plan
from keystead.http.views import Timestamp, limit_set


class PlanOut(BaseModel):
    id: str
    name: str
    priority: int = Field(description="0 to 100; under load, lower tiers are shed first")
    ratelimits: list[dict[str, Any]]
    quota: dict[str, Any] | None
    credits: dict[str, Any] | None
    concurrency: dict[str, Any] | None
    created_at: Timestamp
    updated_at: Timestamp


class PlanList(BaseModel):
    items: list[PlanOut]


class OwnerOut(BaseModel):
    owner_id: str
    ratelimits: list[dict[str, Any]]
    quota: dict[str, Any] | None
    credits: dict[str, Any] | None
    concurrency: dict[str, Any] | None
    created_at: Timestamp
    updated_at: Timestamp


class OwnerList(BaseModel):
    items: list[OwnerOut]


class FailedAttemptsOut(BaseModel):
    ip: str
    failures_seen: int = Field(
        description="failed verifications (MALFORMED, NOT_FOUND) from this IP seen by this node"
    )
    blocked_until: float | None = Field(
        description="epoch seconds until which this node refuses the IP; null: not blocked"
    )
    enabled: bool = Field(
        description="whether brute-force protection is on (KEYSTEAD_FAILED_ATTEMPTS_LIMIT > 0)"
    )
    limit: int | None = Field(
        description="failed verifications allowed per window; null: protection is off"
    )
    window_s: float | None = Field(
        description="the window's length in seconds; null: protection is off"
    )
    remaining: int | None = Field(
        description="what the limiter (shared by every node on Redis) has left of the IP's "
        "allowance; null: protection is off or the limiter cannot be reached"
    )
    reset: int | None = Field(
        description="epoch second (rounded up) when the allowance is whole again; "
        "null: as remaining"
    )


def plan_out(plan: Plan) -> PlanOut:
    return PlanOut(
        id=plan.id,
        name=plan.name,
        priority=plan.priority,
        **limit_set(plan.limits),
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


def owner_out(owner: Owner) -> OwnerOut:
    return OwnerOut(
        owner_id=owner.owner_id,
        **limit_set(owner.limits),
        created_at=owner.created_at,
        updated_at=owner.updated_at,
    )


__all__ = [
    "FailedAttemptsOut",
    "OwnerList",
    "OwnerOut",
    "PlanList",
    "PlanOut",
    "owner_out",
    "plan_out",
]
