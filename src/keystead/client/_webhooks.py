"""Client methods for webhooks: endpoints, secrets, deliveries, the dead letter, replay.

A webhook's ``secret`` (``whsec_...``) is in the answers of
:meth:`WebhooksClient.create_webhook` and :meth:`WebhooksClient.rotate_webhook_secret`
only; check deliveries with ``keystead.events.webhooks.verify_signature``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keystead.client._base import BaseClient, compact, seg


class WebhooksClient(BaseClient):
    def create_webhook(
        self,
        url: str,
        events: Sequence[str],
        *,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> dict[str, Any]:
        """A new endpoint for these event types (``["*"]``: all); the answer holds
        its ``secret``, shown this once."""
        body = {
            "url": url,
            "events": list(events),
            **compact(description=description, enabled=enabled),
        }
        return self._object("POST", "/v1/webhooks", json=body)

    def list_webhooks(self) -> list[dict[str, Any]]:
        return self._items("GET", "/v1/webhooks")

    def get_webhook(self, webhook_id: str) -> dict[str, Any]:
        return self._object("GET", f"/v1/webhooks/{seg(webhook_id)}")

    def update_webhook(self, webhook_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Partial: url, events, description (``None`` clears it), enabled."""
        return self._object("PATCH", f"/v1/webhooks/{seg(webhook_id)}", json=dict(changes))

    def delete_webhook(self, webhook_id: str) -> None:
        self._send("DELETE", f"/v1/webhooks/{seg(webhook_id)}")

    def rotate_webhook_secret(
        self, webhook_id: str, *, expire_old_after_s: int | None = None
    ) -> dict[str, Any]:
        """A new secret (in the answer, shown once); the old one keeps signing for
        ``expire_old_after_s`` seconds (server default: one day)."""
        body = compact(expire_old_after_s=expire_old_after_s)
        return self._object("POST", f"/v1/webhooks/{seg(webhook_id)}/rotate-secret", json=body)

    def list_deliveries(
        self,
        *,
        webhook_id: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """One page ``{"items": [...], "next_cursor": ...}``: of one webhook, or of
        all of them (``status="dead"``: the dead letter)."""
        path = (
            "/v1/webhooks/deliveries"
            if webhook_id is None
            else f"/v1/webhooks/{seg(webhook_id)}/deliveries"
        )
        params = compact(status=status, cursor=cursor, limit=limit)
        return self._object("GET", path, params=params)

    def get_delivery(self, delivery_id: str) -> dict[str, Any]:
        """A delivery with its ``attempts``."""
        return self._object("GET", f"/v1/webhooks/deliveries/{seg(delivery_id)}")

    def replay_delivery(self, delivery_id: str) -> dict[str, Any]:
        """Send a delivery again now, with a fresh attempt budget (409 while pending)."""
        return self._object("POST", f"/v1/webhooks/deliveries/{seg(delivery_id)}/replay")


__all__ = ["WebhooksClient"]
