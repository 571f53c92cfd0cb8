"""The calls of health, APIs and roles, keys, verification and root keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from keystead.client._call import (
    Call,
    compact,
    endpoint,
    get,
    jsonable,
    post,
    read_items,
    read_nothing,
    read_object,
    seg,
)


class KeyFilters(TypedDict, total=False):
    """Which keys ``iter_keys`` walks through, and how many per page."""

    api_id: str
    owner_id: str
    state: str
    plan_id: str
    environment: str
    search: str
    page_size: int


def key_page(filters: KeyFilters, cursor: str | None) -> dict[str, Any]:
    """The ``list_keys`` arguments of one page of ``iter_keys``."""
    args: dict[str, Any] = {name: value for name, value in filters.items() if name != "page_size"}
    return {**args, "cursor": cursor, "limit": filters.get("page_size")}


class CoreApi:
    # -- health ---------------------------------------------------------------

    @endpoint(("GET", "/healthz"))
    def health(self) -> Call[dict[str, Any]]:
        """``GET /healthz``: whether the server is up (needs no root key)."""
        return get("/healthz", read_object)

    # -- APIs and roles -------------------------------------------------------

    @endpoint(("POST", "/v1/apis"))
    def create_api(
        self,
        name: str,
        *,
        prefix: str | None = None,
        key_defaults: Mapping[str, Any] | None = None,
        limits: Mapping[str, Any] | None = None,
        rotation_policy: Mapping[str, Any] | None = None,
    ) -> Call[dict[str, Any]]:
        """A new API; ``limits``: ``{"failure_policy": "open"|"closed",
        "ip_ratelimits": [...]}``; ``rotation_policy``: ``{max_age_s, grace_period_s,
        warn_before_s}`` for its keys."""
        body = compact(
            name=name,
            prefix=prefix,
            key_defaults=key_defaults,
            limits=limits,
            rotation_policy=rotation_policy,
        )
        return post("/v1/apis", read_object, body)

    @endpoint(("GET", "/v1/apis"))
    def list_apis(self) -> Call[list[dict[str, Any]]]:
        return get("/v1/apis", read_items)

    @endpoint(("GET", "/v1/apis/{api_id}"))
    def get_api(self, api_id: str) -> Call[dict[str, Any]]:
        return get(f"/v1/apis/{seg(api_id)}", read_object)

    @endpoint(("DELETE", "/v1/apis/{api_id}"))
    def delete_api(self, api_id: str) -> Call[None]:
        return Call("DELETE", f"/v1/apis/{seg(api_id)}", read_nothing)

    @endpoint(("PUT", "/v1/apis/{api_id}/roles/{name}"))
    def put_role(
        self,
        api_id: str,
        name: str,
        permissions: Sequence[str],
        *,
        description: str | None = None,
    ) -> Call[dict[str, Any]]:
        body = compact(permissions=list(permissions), description=description)
        path = f"/v1/apis/{seg(api_id)}/roles/{seg(name)}"
        return Call("PUT", path, read_object, json=body)

    @endpoint(("GET", "/v1/apis/{api_id}/roles"))
    def list_roles(self, api_id: str) -> Call[list[dict[str, Any]]]:
        return get(f"/v1/apis/{seg(api_id)}/roles", read_items)

    @endpoint(("DELETE", "/v1/apis/{api_id}/roles/{name}"))
    def delete_role(self, api_id: str, name: str) -> Call[None]:
        return Call("DELETE", f"/v1/apis/{seg(api_id)}/roles/{seg(name)}", read_nothing)

    # -- keys -----------------------------------------------------------------

    @endpoint(("POST", "/v1/keys"))
    def create_key(self, /, api_id: str, **fields: Any) -> Call[dict[str, Any]]:
        """A new key; the answer holds the plaintext ``key``, shown this once.

        ``fields``: name, owner_id, meta, permissions, roles, environment,
        not_before, expires_at (datetime or ISO text), restrictions, enabled,
        and limits: ratelimits (list), quota, credits, concurrency, plan_id.
        """
        body = jsonable({**fields, "api_id": api_id})
        return post("/v1/keys", read_object, compact(**body))

    @endpoint(("POST", "/v1/keys/batch"))
    def create_keys(self, specs: Sequence[Mapping[str, Any]]) -> Call[list[dict[str, Any]]]:
        """Several keys at once, all or nothing; each spec names its ``api_id``."""
        body = {"keys": [compact(**jsonable(dict(spec))) for spec in specs]}
        return post("/v1/keys/batch", read_items, body)

    @endpoint(("GET", "/v1/keys/{key_id}"))
    def get_key(self, key_id: str) -> Call[dict[str, Any]]:
        return get(f"/v1/keys/{seg(key_id)}", read_object)

    @endpoint(("GET", "/v1/keys"))
    def list_keys(
        self,
        *,
        api_id: str | None = None,
        owner_id: str | None = None,
        state: str | None = None,
        plan_id: str | None = None,
        environment: str | None = None,
        search: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Call[dict[str, Any]]:
        """One page: ``{"items": [...], "next_cursor": str | None}``. ``search``:
        the name contains it (any case), or the owner id or ``start`` begins with it."""
        return get(
            "/v1/keys",
            read_object,
            api_id=api_id,
            owner_id=owner_id,
            state=state,
            plan_id=plan_id,
            environment=environment,
            q=search,
            cursor=cursor,
            limit=limit,
        )

    @endpoint(("PATCH", "/v1/keys/{key_id}"))
    def update_key(self, key_id: str, changes: Mapping[str, Any]) -> Call[dict[str, Any]]:
        """Partial update: an omitted field is kept, ``None`` clears it. Limits:
        ratelimits, quota, credits (``{"remaining": n}`` sets the live balance),
        concurrency, plan_id, and ``reset_quota: True`` to start the quota afresh."""
        return Call("PATCH", f"/v1/keys/{seg(key_id)}", read_object, json=jsonable(dict(changes)))

    @endpoint(("POST", "/v1/keys/{key_id}/revoke"))
    def revoke_key(self, key_id: str) -> Call[dict[str, Any]]:
        return post(f"/v1/keys/{seg(key_id)}/revoke", read_object)

    @endpoint(("POST", "/v1/keys/{key_id}/disable"))
    def disable_key(self, key_id: str) -> Call[dict[str, Any]]:
        return post(f"/v1/keys/{seg(key_id)}/disable", read_object)

    @endpoint(("POST", "/v1/keys/{key_id}/enable"))
    def enable_key(self, key_id: str) -> Call[dict[str, Any]]:
        return post(f"/v1/keys/{seg(key_id)}/enable", read_object)

    @endpoint(("DELETE", "/v1/keys/{key_id}"))
    def delete_key(self, key_id: str) -> Call[None]:
        return Call("DELETE", f"/v1/keys/{seg(key_id)}", read_nothing)

    @endpoint(("POST", "/v1/keys/verify"))
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
    ) -> Call[dict[str, Any]]:
        """The raw answer, ``{"valid": bool, "code": str, ...}`` (``verify`` reads it
        into a ``VerifyResult``); an invalid key is an answer, not an error. Never
        answered from the verify cache.

        ``cost`` units are spent on every limit of the key (0: look without
        spending); ``ratelimits`` adds rate limits for this call only. The answer
        then has ``limits`` (``[{name, kind, limit, remaining, reset,
        retry_after?}]``), ``retry_after`` when refused, and ``leases`` to hand
        back with ``release`` when the key has a concurrency limit.
        """
        body = compact(
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
        return post("/v1/keys/verify", read_object, body)

    # -- root keys ------------------------------------------------------------

    @endpoint(("POST", "/v1/root_keys"))
    def create_root_key(
        self,
        *,
        name: str | None = None,
        permissions: Sequence[str] | None = None,
        api_ids: Sequence[str] | None = None,
        owner_id: str | None = None,
    ) -> Call[dict[str, Any]]:
        """``owner_id`` narrows the new root key to that owner's keys and pickups."""
        body = compact(
            name=name,
            permissions=None if permissions is None else list(permissions),
            api_ids=None if api_ids is None else list(api_ids),
            owner_id=owner_id,
        )
        return post("/v1/root_keys", read_object, body)

    @endpoint(("GET", "/v1/root_keys"))
    def list_root_keys(self) -> Call[list[dict[str, Any]]]:
        return get("/v1/root_keys", read_items)

    @endpoint(("POST", "/v1/root_keys/{root_key_id}/revoke"))
    def revoke_root_key(self, root_key_id: str) -> Call[dict[str, Any]]:
        return post(f"/v1/root_keys/{seg(root_key_id)}/revoke", read_object)


__all__ = ["CoreApi", "KeyFilters", "key_page"]
