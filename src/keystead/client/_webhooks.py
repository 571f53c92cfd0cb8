"""The calls of webhooks: endpoints, secrets, deliveries, the dead letter, replay.

A webhook's ``secret`` (``whsec_...``) is in the answers of ``create_webhook``
and ``rotate_webhook_secret`` only; check deliveries with
``keystead.events.webhooks.verify_signature``.
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


class WebhooksApi:
    @endpoint(("POST", "/v1/webhooks"))
    def create_webhook(
        self,
        url: str,
        events: Sequence[str],
        *,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> Call[dict[str, Any]]:
        """A new endpoint for these event types (``["*"]``: all); the answer holds
        its ``secret``, shown this once."""
        body = {
            "url": url,
            "events": list(events),
            **compact(description=description, enabled=enabled),
        }
        return post("/v1/webhooks", read_object, body)

    @endpoint(("GET", "/v1/webhooks"))
    def list_webhooks(self) -> Call[list[dict[str, Any]]]:
        return get("/v1/webhooks", read_items)

    @endpoint(("GET", "/v1/webhooks/{webhook_id}"))
    def get_webhook(self, webhook_id: str) -> Call[dict[str, Any]]:
        return get(f"/v1/webhooks/{seg(webhook_id)}", read_object)

    @endpoint(("PATCH", "/v1/webhooks/{webhook_id}"))
    def update_webhook(self, webhook_id: str, changes: Mapping[str, Any]) -> Call[dict[str, Any]]:
        """Partial: url, events, description (``None`` clears it), enabled."""
        path = f"/v1/webhooks/{seg(webhook_id)}"
        return Call("PATCH", path, read_object, json=dict(changes))

    @endpoint(("DELETE", "/v1/webhooks/{webhook_id}"))
    def delete_webhook(self, webhook_id: str) -> Call[None]:
        return Call("DELETE", f"/v1/webhooks/{seg(webhook_id)}", read_nothing)

    @endpoint(("POST", "/v1/webhooks/{webhook_id}/rotate-secret"))
    def rotate_webhook_secret(
        self, webhook_id: str, *, expire_old_after_s: int | None = None
    ) -> Call[dict[str, Any]]:
        """A new secret (in the answer, shown once); the old one keeps signing for
        ``expire_old_after_s`` seconds (server default: one day)."""
        body = compact(expire_old_after_s=expire_old_after_s)
        return post(f"/v1/webhooks/{seg(webhook_id)}/rotate-secret", read_object, body)

    @endpoint(
        ("GET", "/v1/webhooks/deliveries"),
        ("GET", "/v1/webhooks/{webhook_id}/deliveries"),
    )
    def list_deliveries(
        self,
        *,
        webhook_id: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Call[dict[str, Any]]:
        """One page ``{"items": [...], "next_cursor": ...}``: of one webhook, or of
        all of them (``status="dead"``: the dead letter)."""
        path = (
            "/v1/webhooks/deliveries"
            if webhook_id is None
            else f"/v1/webhooks/{seg(webhook_id)}/deliveries"
        )
        return get(path, read_object, status=status, cursor=cursor, limit=limit)

    @endpoint(("GET", "/v1/webhooks/deliveries/{delivery_id}"))
    def get_delivery(self, delivery_id: str) -> Call[dict[str, Any]]:
        """A delivery with its ``attempts``."""
        return get(f"/v1/webhooks/deliveries/{seg(delivery_id)}", read_object)

    @endpoint(("POST", "/v1/webhooks/deliveries/{delivery_id}/replay"))
    def replay_delivery(self, delivery_id: str) -> Call[dict[str, Any]]:
        """Send a delivery again now, with a fresh attempt budget (409 while pending)."""
        return post(f"/v1/webhooks/deliveries/{seg(delivery_id)}/replay", read_object)


__all__ = ["WebhooksApi"]
