"""The calls of usage analytics: series and top values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict, Unpack

from keystead.client._call import Call, compact, endpoint, get, post, read_object


class Scope(TypedDict, total=False):
    """One key, owner or API (name exactly one), over [``since``, ``until``)
    (ISO 8601 date-times)."""

    key_id: str
    owner_id: str
    api_id: str
    since: str
    until: str


def _params(scope: Scope, **more: Any) -> dict[str, Any]:
    params: dict[str, Any] = {**scope, **more}
    params["from"], params["to"] = params.pop("since", None), params.pop("until", None)
    return compact(**params)


def _flag(on: bool) -> str | None:
    return "true" if on else None


class AnalyticsApi:
    @endpoint(("GET", "/v1/analytics/usage"))
    def usage_series(
        self, *, granularity: str = "hour", after_leak: bool = False, **scope: Unpack[Scope]
    ) -> Call[dict[str, Any]]:
        """``GET /v1/analytics/usage``: buckets of one key, owner or API
        (``after_leak``: a leaked key's, from its leak time on)."""
        params = _params(scope, granularity=granularity, after_leak=_flag(after_leak))
        return get("/v1/analytics/usage", read_object, **params)

    @endpoint(("GET", "/v1/analytics/top"))
    def usage_top(
        self, *, by: str = "ip", limit: int = 10, after_leak: bool = False, **scope: Unpack[Scope]
    ) -> Call[dict[str, Any]]:
        """``GET /v1/analytics/top``: the most frequent values of ``by``
        (``after_leak``: among a leaked key's uses from its leak time on)."""
        params = _params(scope, by=by, limit=limit, after_leak=_flag(after_leak))
        return get("/v1/analytics/top", read_object, **params)

    @endpoint(("POST", "/v1/analytics/what-if"))
    def what_if(
        self,
        proposal: Mapping[str, Any],
        *,
        plan_id: str | None = None,
        key_id: str | None = None,
        api_id: str | None = None,
        days: int = 7,
        granularity: str = "hour",
        top: int = 20,
    ) -> Call[dict[str, Any]]:
        """``POST /v1/analytics/what-if``: replay the last ``days`` of a plan's, a
        key's or an API's recorded uses against ``proposal`` (a limit set, e.g.
        ``{"quota": {"limit": 1000, "period": "day"}}``): who would have been
        refused, and when."""
        body = compact(plan_id=plan_id, key_id=key_id, api_id=api_id)
        body.update(proposal=dict(proposal), days=days, granularity=granularity, top=top)
        return post("/v1/analytics/what-if", read_object, json=body)


__all__ = ["AnalyticsApi", "Scope"]
