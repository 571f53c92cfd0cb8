"""The calls of the self-service portal: one-time links and branding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keystead.client._call import Call, compact, endpoint, get, post, read_object


class PortalApi:
    @endpoint(("POST", "/v1/portal/sessions"))
    def create_portal_link(
        self,
        owner_id: str,
        *,
        permissions: Sequence[str] | None = None,
        api_ids: Sequence[str] | None = None,
        return_url: str | None = None,
    ) -> Call[dict[str, Any]]:
        """A one-time link into ``owner_id``'s portal: ``{"url", "expires_at",
        "owner_id"}``. Hand the url to that customer only; it works once."""
        body = compact(
            owner_id=owner_id,
            permissions=None if permissions is None else list(permissions),
            api_ids=None if api_ids is None else list(api_ids),
            return_url=return_url,
        )
        return post("/v1/portal/sessions", read_object, body)

    @endpoint(("GET", "/v1/portal/branding"))
    def get_portal_branding(self) -> Call[dict[str, Any]]:
        return get("/v1/portal/branding", read_object)

    @endpoint(("PUT", "/v1/portal/branding"))
    def set_portal_branding(self, /, **changes: Any) -> Call[dict[str, Any]]:
        """Change the given fields (``name``, ``logo_url``, ``accent``,
        ``max_keys_per_owner``, ``key_defaults``); None restores a default."""
        return Call("PUT", "/v1/portal/branding", read_object, json=changes)


__all__ = ["PortalApi"]
