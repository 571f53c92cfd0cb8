"""Request bodies of limits, plans and owners (shapes: docs/limits.md).

These check the JSON shape and types only; the service checks ranges and
meaning and names the field it refuses (``ratelimits[0].limit``), so an
out-of-range value is a 422 problem with ``field`` rather than ``errors``.
The list bound and the enums are ``keystead.service.limit_fields``' own.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, StringConstraints

from keystead.http.fieldtypes import JsonObject, NoNul, ObjectId, RequestModel, Text
from keystead.http.rotation_schemas import RotationPolicyIn
from keystead.service.limit_fields import MAX_PRIORITY, MAX_RATELIMITS, FailurePolicy

MAX_LEASES = 1000
MAX_LEASE_CHARS = 512

Seconds = Annotated[float, Field(strict=True, description="seconds (a number)")]


class RateLimitIn(RequestModel):
    """``limit`` units per ``duration_s``; GCRA lets ``burst`` through at once."""

    name: NoNul = Field(description="1 to 64 characters, unique in its list")
    limit: StrictInt = Field(description="units per duration: 1 to 10^12 (sliding window 10^5)")
    duration_s: Seconds
    burst: StrictInt | None = Field(default=None, description="gcra only; default: limit")
    algorithm: Literal["gcra", "sliding_window"] = "gcra"


class QuotaIn(RequestModel):
    """``limit`` units per calendar period in ``timezone``, shifted by ``offset_s``."""

    limit: StrictInt
    period: Literal["day", "week", "month"] = "month"
    timezone: NoNul = Field(default="UTC", description="an IANA time zone, e.g. Europe/Paris")
    offset_s: StrictInt = Field(default=0, description="the period starts this late")


class RefillIn(RequestModel):
    amount: StrictInt
    interval_s: Seconds
    mode: Literal["set", "add"] = Field(
        default="set", description="set: top up to amount; add: add amount (up to cap)"
    )
    cap: StrictInt | None = Field(default=None, description="add mode only")


class CreditsIn(RequestModel):
    """A balance each verification spends ``cost`` of."""

    remaining: StrictInt = Field(description="the balance (on update: sets the live balance)")
    refill: RefillIn | None = None


class ConcurrencyIn(RequestModel):
    """At most ``limit`` verifications in flight; a lease lapses after ``lease_s``."""

    limit: StrictInt
    lease_s: Seconds = 60.0


RateLimits = Annotated[list[RateLimitIn], Field(max_length=MAX_RATELIMITS)]


class LimitFields(RequestModel):
    """A limit set: the fields keys, plans and owners share."""

    ratelimits: RateLimits | None = None
    quota: QuotaIn | None = None
    credits: CreditsIn | None = None
    concurrency: ConcurrencyIn | None = None


class ApiLimitsIn(RequestModel):
    failure_policy: FailurePolicy = Field(
        default="open",
        description="when the limiter is unreachable: open lets verifications through, "
        "closed refuses them",
    )
    ip_ratelimits: RateLimits | None = Field(
        default=None, description="rate limits per client IP (verify's ip) for every key"
    )


class ApiUpdate(RequestModel):
    name: Text | None = None
    key_defaults: JsonObject | None = None
    limits: ApiLimitsIn | None = None
    rotation_policy: RotationPolicyIn | None = None


class PlanCreate(LimitFields):
    name: Text
    priority: StrictInt = Field(
        default=0, description=f"0 to {MAX_PRIORITY}; higher tiers are shed last"
    )


class PlanUpdate(LimitFields):
    """Partial: an omitted field is kept; ``null`` clears a limit field."""

    name: Text | None = None
    priority: StrictInt | None = None


class OwnerPut(LimitFields):
    """The owner's whole limit set (what is omitted is removed)."""


class KeyLimitFields(LimitFields):
    plan_id: ObjectId | None = Field(
        default=None, description="the plan whose limits the key takes (plan_...)"
    )


class LeaseRelease(RequestModel):
    leases: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_LEASE_CHARS)]],
        Field(max_length=MAX_LEASES),
    ] = Field(description="the 'leases' of verify answers")


ResetQuota = Annotated[
    StrictBool, Field(description="start the key's quota period count again from zero")
]

__all__ = [
    "MAX_LEASES",
    "MAX_RATELIMITS",
    "ApiLimitsIn",
    "ApiUpdate",
    "ConcurrencyIn",
    "CreditsIn",
    "KeyLimitFields",
    "LeaseRelease",
    "LimitFields",
    "OwnerPut",
    "PlanCreate",
    "PlanUpdate",
    "QuotaIn",
    "RateLimitIn",
    "RateLimits",
    "RefillIn",
    "ResetQuota",
    "Seconds",
]
