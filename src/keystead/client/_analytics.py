"""Client methods for usage analytics: series and top values."""

from __future__ import annotations

from typing import Any

from keystead.client._base import BaseClient, compact


class AnalyticsClient(BaseClient):
    def usage_series(
        self,
        *,
        key_id: str | None = None,
        owner_id: str | None = None,
        api_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        granularity: str = "hour",
    ) -> dict[str, Any]:
        """``GET /v1/analytics/usage``: buckets of one key, owner or API."""
        params = compact(key_id=key_id, owner_id=owner_id, api_id=api_id, granularity=granularity)
        params.update(compact(**{"from": since, "to": until}))
        return self._object("GET", "/v1/analytics/usage", params=params)

    def usage_top(
        self,
        *,
        key_id: str | None = None,
        owner_id: str | None = None,
        api_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        by: str = "ip",
        limit: int = 10,
    ) -> dict[str, Any]:
        """``GET /v1/analytics/top``: the most frequent values of ``by``."""
        params = compact(key_id=key_id, owner_id=owner_id, api_id=api_id, by=by, limit=limit)
        params.update(compact(**{"from": since, "to": until}))
        return self._object("GET", "/v1/analytics/top", params=params)


__all__ = ["AnalyticsClient"]
