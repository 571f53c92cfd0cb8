"""The calls of limits: API limit settings, plans, owners, leases, brute-force state.

A limit set is given as ``ratelimits`` (a list of ``{name, limit, duration_s,
burst?, algorithm?}``), ``quota`` (``{limit, period, timezone?, offset_s?}``),
``credits`` (``{remaining, refill?}``) and ``concurrency`` (``{limit, lease_s}``);
docs/limits.md has the shapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keystead.client._call import (
    Call,
    compact,
    endpoint,
    get,
    post,
    read_items,
    read_nothing,
    read_object,
    seg,
)


def _limit_body(
    ratelimits: Sequence[Mapping[str, Any]] | None,
    quota: Mapping[str, Any] | None,
    credits: Mapping[str, Any] | None,
    concurrency: Mapping[str, Any] | None,
) -> dict[str, Any]:
    return compact(
        ratelimits=None if ratelimits is None else [dict(r) for r in ratelimits],
        quota=None if quota is None else dict(quota),
        credits=None if credits is None else dict(credits),
        concurrency=None if concurrency is None else dict(concurrency),
    )


class LimitsApi:
    # -- API settings ---------------------------------------------------------

    @endpoint(("PATCH", "/v1/apis/{api_id}"))
    def update_api(self, api_id: str, changes: Mapping[str, Any]) -> Call[dict[str, Any]]:
        """``PATCH /v1/apis/{id}``: ``name``, ``key_defaults``, ``limits``
        (``{"failure_policy": "open"|"closed", "ip_ratelimits": [...]}``)."""
        return Call("PATCH", f"/v1/apis/{seg(api_id)}", read_object, json=dict(changes))

    # -- plans ----------------------------------------------------------------

    @endpoint(("POST", "/v1/plans"))
    def create_plan(
        self,
        name: str,
        *,
        ratelimits: Sequence[Mapping[str, Any]] | None = None,
        quota: Mapping[str, Any] | None = None,
        credits: Mapping[str, Any] | None = None,
        concurrency: Mapping[str, Any] | None = None,
        priority: int | None = None,
    ) -> Call[dict[str, Any]]:
        """A plan (tier): limits that keys with its ``plan_id`` share the shape of.
        ``priority`` 0..100: under load, higher priorities are shed last."""
        body = {
            "name": name,
            **_limit_body(ratelimits, quota, credits, concurrency),
            **compact(priority=priority),
        }
        return post("/v1/plans", read_object, body)

    @endpoint(("GET", "/v1/plans"))
    def list_plans(self) -> Call[list[dict[str, Any]]]:
        return get("/v1/plans", read_items)

    @endpoint(("GET", "/v1/plans/{plan_id}"))
    def get_plan(self, plan_id: str) -> Call[dict[str, Any]]:
        return get(f"/v1/plans/{seg(plan_id)}", read_object)

    @endpoint(("PATCH", "/v1/plans/{plan_id}"))
    def update_plan(self, plan_id: str, changes: Mapping[str, Any]) -> Call[dict[str, Any]]:
        """Partial: name, priority, ratelimits, quota, credits, concurrency
        (``None`` clears a limit). Every key on the plan changes at once."""
        return Call("PATCH", f"/v1/plans/{seg(plan_id)}", read_object, json=dict(changes))

    @endpoint(("DELETE", "/v1/plans/{plan_id}"))
    def delete_plan(self, plan_id: str) -> Call[None]:
        """Refused (409) while keys still use the plan."""
        return Call("DELETE", f"/v1/plans/{seg(plan_id)}", read_nothing)

    # -- owners ---------------------------------------------------------------

    @endpoint(("PUT", "/v1/owners/{owner_id}"))
    def put_owner(
        self,
        owner_id: str,
        *,
        ratelimits: Sequence[Mapping[str, Any]] | None = None,
        quota: Mapping[str, Any] | None = None,
        credits: Mapping[str, Any] | None = None,
        concurrency: Mapping[str, Any] | None = None,
    ) -> Call[dict[str, Any]]:
        """Set (replace) the limits shared by every key with this ``owner_id``."""
        body = _limit_body(ratelimits, quota, credits, concurrency)
        return Call("PUT", f"/v1/owners/{seg(owner_id)}", read_object, json=body)

    @endpoint(("GET", "/v1/owners/{owner_id}"))
    def get_owner(self, owner_id: str) -> Call[dict[str, Any]]:
        return get(f"/v1/owners/{seg(owner_id)}", read_object)

    @endpoint(("GET", "/v1/owners"))
    def list_owners(self) -> Call[list[dict[str, Any]]]:
        return get("/v1/owners", read_items)

    @endpoint(("DELETE", "/v1/owners/{owner_id}"))
    def delete_owner(self, owner_id: str) -> Call[None]:
        return Call("DELETE", f"/v1/owners/{seg(owner_id)}", read_nothing)

    # -- verification extras --------------------------------------------------

    @endpoint(("POST", "/v1/keys/verify/release"))
    def release(self, leases: Sequence[str]) -> Call[None]:
        """Give back the concurrency slots a verification took (its ``leases``)."""
        return post("/v1/keys/verify/release", read_nothing, {"leases": list(leases)})

    @endpoint(("GET", "/v1/limits/failed_attempts"))
    def failed_attempts(self, ip: str) -> Call[dict[str, Any]]:
        """The brute-force state of one client IP: ``failures_seen`` and
        ``blocked_until`` on the node that answers, ``enabled``, ``limit`` per
        ``window_s``, and the limiter's ``remaining`` and ``reset`` (null when
        protection is off or the limiter cannot be reached)."""
        if not ip:
            raise ValueError("an IP address is required")
        return get("/v1/limits/failed_attempts", read_object, ip=ip)


__all__ = ["LimitsApi"]
