"""Client methods for limits: API limit settings, plans, owners, leases, brute-force state.

A limit set is given as ``ratelimits`` (a list of ``{name, limit, duration_s,
burst?, algorithm?}``), ``quota`` (``{limit, period, timezone?, offset_s?}``),
``credits`` (``{remaining, refill?}``) and ``concurrency`` (``{limit, lease_s}``);
docs/limits.md has the shapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keystead.client._base import BaseClient, compact, seg


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


class LimitsClient(BaseClient):
    # -- API settings ---------------------------------------------------------

    def update_api(self, api_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /v1/apis/{id}``: ``name``, ``key_defaults``, ``limits``
        (``{"failure_policy": "open"|"closed", "ip_ratelimits": [...]}``)."""
        return self._object("PATCH", f"/v1/apis/{seg(api_id)}", json=dict(changes))

    # -- plans ----------------------------------------------------------------

    def create_plan(
        self,
        name: str,
        *,
        ratelimits: Sequence[Mapping[str, Any]] | None = None,
        quota: Mapping[str, Any] | None = None,
        credits: Mapping[str, Any] | None = None,
        concurrency: Mapping[str, Any] | None = None,
        priority: int | None = None,
    ) -> dict[str, Any]:
        """A plan (tier): limits that keys with its ``plan_id`` share the shape of.
        ``priority`` 0..100: under load, higher priorities are shed last."""
        body = {
            "name": name,
            **_limit_body(ratelimits, quota, credits, concurrency),
            **compact(priority=priority),
        }
        return self._object("POST", "/v1/plans", json=body)

    def list_plans(self) -> list[dict[str, Any]]:
        return self._items("GET", "/v1/plans")

    def get_plan(self, plan_id: str) -> dict[str, Any]:
        return self._object("GET", f"/v1/plans/{seg(plan_id)}")

    def update_plan(self, plan_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Partial: name, priority, ratelimits, quota, credits, concurrency
        (``None`` clears a limit). Every key on the plan changes at once."""
        return self._object("PATCH", f"/v1/plans/{seg(plan_id)}", json=dict(changes))

    def delete_plan(self, plan_id: str) -> None:
        """Refused (409) while keys still use the plan."""
        self._send("DELETE", f"/v1/plans/{seg(plan_id)}")

    # -- owners ---------------------------------------------------------------

    def put_owner(
        self,
        owner_id: str,
        *,
        ratelimits: Sequence[Mapping[str, Any]] | None = None,
        quota: Mapping[str, Any] | None = None,
        credits: Mapping[str, Any] | None = None,
        concurrency: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Set (replace) the limits shared by every key with this ``owner_id``."""
        body = _limit_body(ratelimits, quota, credits, concurrency)
        return self._object("PUT", f"/v1/owners/{seg(owner_id)}", json=body)

    def get_owner(self, owner_id: str) -> dict[str, Any]:
        return self._object("GET", f"/v1/owners/{seg(owner_id)}")

    def list_owners(self) -> list[dict[str, Any]]:
        return self._items("GET", "/v1/owners")

    def delete_owner(self, owner_id: str) -> None:
        self._send("DELETE", f"/v1/owners/{seg(owner_id)}")

    # -- verification extras --------------------------------------------------

    def release(self, leases: Sequence[str]) -> None:
        """Give back the concurrency slots a verification took (its ``leases``)."""
        self._send("POST", "/v1/keys/verify/release", json={"leases": list(leases)})

    def failed_attempts(self, ip: str) -> dict[str, Any]:
        """The brute-force state of one client IP (failed verifications)."""
        if not ip:
            raise ValueError("an IP address is required")
        return self._object("GET", "/v1/limits/failed_attempts", params={"ip": ip})


__all__ = ["LimitsClient"]
