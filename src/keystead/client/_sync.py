"""The synchronous client of the Keystead HTTP API, on httpx."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from keystead.client._alerts import AlertsClient
from keystead.client._analytics import AnalyticsClient
from keystead.client._audit import AuditClient
from keystead.client._base import compact as _compact
from keystead.client._base import jsonable as _jsonable
from keystead.client._base import seg as _seg
from keystead.client._custody import CustodyClient
from keystead.client._limits import LimitsClient
from keystead.client._rotation import RotationClient
from keystead.client._webhooks import WebhooksClient


class Client(
    LimitsClient,
    RotationClient,
    WebhooksClient,
    CustodyClient,
    AuditClient,
    AnalyticsClient,
    AlertsClient,
):
    """A typed client of one Keystead server, authenticated with a root key.

    Every method returns the decoded JSON answer as plain dicts; errors raise
    :class:`ApiError` (the server said no) or :class:`ConnectionFailed` (no answer).
    Use it as a context manager, or call :meth:`close`.
    """

    # -- health ---------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /healthz``: whether the server is up (needs no root key)."""
        return self._object("GET", "/healthz")

    # -- APIs and roles -------------------------------------------------------

    def create_api(
        self,
        name: str,
        *,
        prefix: str | None = None,
        key_defaults: Mapping[str, Any] | None = None,
        limits: Mapping[str, Any] | None = None,
        rotation_policy: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A new API; ``limits``: ``{"failure_policy": "open"|"closed",
        "ip_ratelimits": [...]}``; ``rotation_policy``: ``{max_age_s, grace_period_s,
        warn_before_s}`` for its keys."""
        body = _compact(
            name=name,
            prefix=prefix,
            key_defaults=key_defaults,
            limits=limits,
            rotation_policy=rotation_policy,
        )
        return self._object("POST", "/v1/apis", json=body)

    def list_apis(self) -> list[dict[str, Any]]:
        return self._items("GET", "/v1/apis")

    def get_api(self, api_id: str) -> dict[str, Any]:
        return self._object("GET", f"/v1/apis/{_seg(api_id)}")

    def delete_api(self, api_id: str) -> None:
        self._send("DELETE", f"/v1/apis/{_seg(api_id)}")

    def put_role(
        self,
        api_id: str,
        name: str,
        permissions: Sequence[str],
        *,
        description: str | None = None,
    ) -> dict[str, Any]:
        body = _compact(permissions=list(permissions), description=description)
        return self._object("PUT", f"/v1/apis/{_seg(api_id)}/roles/{_seg(name)}", json=body)

    def list_roles(self, api_id: str) -> list[dict[str, Any]]:
        return self._items("GET", f"/v1/apis/{_seg(api_id)}/roles")

    def delete_role(self, api_id: str, name: str) -> None:
        self._send("DELETE", f"/v1/apis/{_seg(api_id)}/roles/{_seg(name)}")

    # -- keys -----------------------------------------------------------------

    def create_key(self, api_id: str, **fields: Any) -> dict[str, Any]:
        """A new key; the answer holds the plaintext ``key``, shown this once.

        ``fields``: name, owner_id, meta, permissions, roles, environment,
        not_before, expires_at (datetime or ISO text), restrictions, enabled,
        and limits: ratelimits (list), quota, credits, concurrency, plan_id.
        """
        body = _jsonable({**fields, "api_id": api_id})
        return self._object("POST", "/v1/keys", json=_compact(**body))

    def create_keys(self, specs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Several keys at once, all or nothing; each spec names its ``api_id``."""
        body = {"keys": [_compact(**_jsonable(dict(spec))) for spec in specs]}
        return self._items("POST", "/v1/keys/batch", json=body)

    def get_key(self, key_id: str) -> dict[str, Any]:
        return self._object("GET", f"/v1/keys/{_seg(key_id)}")

    def list_keys(
        self,
        *,
        api_id: str | None = None,
        owner_id: str | None = None,
        state: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """One page: ``{"items": [...], "next_cursor": str | None}``."""
        params = _compact(api_id=api_id, owner_id=owner_id, state=state, cursor=cursor, limit=limit)
        return self._object("GET", "/v1/keys", params=params)

    def iter_keys(
        self,
        *,
        api_id: str | None = None,
        owner_id: str | None = None,
        state: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every matching key, fetching page after page."""
        cursor: str | None = None
        while True:
            page = self.list_keys(
                api_id=api_id, owner_id=owner_id, state=state, cursor=cursor, limit=page_size
            )
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def update_key(self, key_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Partial update: an omitted field is kept, ``None`` clears it. Limits:
        ratelimits, quota, credits (``{"remaining": n}`` sets the live balance),
        concurrency, plan_id, and ``reset_quota: True`` to start the quota afresh."""
        return self._object("PATCH", f"/v1/keys/{_seg(key_id)}", json=_jsonable(dict(changes)))

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        return self._object("POST", f"/v1/keys/{_seg(key_id)}/revoke")

    def disable_key(self, key_id: str) -> dict[str, Any]:
        return self._object("POST", f"/v1/keys/{_seg(key_id)}/disable")

    def enable_key(self, key_id: str) -> dict[str, Any]:
        return self._object("POST", f"/v1/keys/{_seg(key_id)}/enable")

    def delete_key(self, key_id: str) -> None:
        self._send("DELETE", f"/v1/keys/{_seg(key_id)}")

    def verify_key(
        self,
        key: str,
        *,
        permissions: str | None = None,
        ip: str | None = None,
        referrer: str | None = None,
        user_agent: str | None = None,
        method: str | None = None,
        path: str | None = None,
        cost: int | None = None,
        ratelimits: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """``{"valid": bool, "code": str, ...}``; an invalid key is an answer, not an error.

        ``cost`` units are spent on every limit of the key (0: look without
        spending); ``ratelimits`` adds rate limits for this call only. The answer
        then has ``limits`` (``[{name, kind, limit, remaining, reset,
        retry_after?}]``), ``retry_after`` when refused, and ``leases`` to hand
        back with :meth:`release` when the key has a concurrency limit.
        """
        body = _compact(
            key=key,
            permissions=permissions,
            ip=ip,
            referrer=referrer,
            user_agent=user_agent,
            method=method,
            path=path,
            cost=cost,
            ratelimits=None if ratelimits is None else [dict(r) for r in ratelimits],
        )
        return self._object("POST", "/v1/keys/verify", json=body)

    # -- root keys ------------------------------------------------------------

    def create_root_key(
        self,
        *,
        name: str | None = None,
        permissions: Sequence[str] | None = None,
        api_ids: Sequence[str] | None = None,
        owner_id: str | None = None,
    ) -> dict[str, Any]:
        """``owner_id`` narrows the new root key to that owner's keys and pickups."""
        body = _compact(
            name=name,
            permissions=None if permissions is None else list(permissions),
            api_ids=None if api_ids is None else list(api_ids),
            owner_id=owner_id,
        )
        return self._object("POST", "/v1/root_keys", json=body)

    def list_root_keys(self) -> list[dict[str, Any]]:
        return self._items("GET", "/v1/root_keys")

    def revoke_root_key(self, root_key_id: str) -> dict[str, Any]:
        return self._object("POST", f"/v1/root_keys/{_seg(root_key_id)}/revoke")


__all__ = ["Client"]
