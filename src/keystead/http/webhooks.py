"""``/v1/webhooks``: endpoints that receive the workspace's events, signed per
Standard Webhooks, with their deliveries, the dead letter and replay.

Only creation and rotate-secret answer with the ``secret``. The delivery routes
come first: ``/v1/webhooks/deliveries`` is not a webhook id.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Response

from keystead.http.auth import Auth, Service
from keystead.http.fieldtypes import PageSize
from keystead.http.openapi import CONFLICT, FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import ObjectId, changes
from keystead.http.webhook_schemas import (
    CreatedWebhookOut,
    DeliveryDetailOut,
    DeliveryOut,
    DeliveryPage,
    SecretRotation,
    WebhookCreate,
    WebhookList,
    WebhookOut,
    WebhookUpdate,
    created_webhook_out,
    delivery_detail_out,
    delivery_out,
    webhook_out,
)

router = make_router(prefix="/v1/webhooks", tags=["webhooks"])

WebhookId = Annotated[ObjectId, Path(description="the webhook's id (wh_...)")]
DeliveryId = Annotated[ObjectId, Path(description="the delivery's id (dlv_...)")]
Status = Annotated[
    Literal["pending", "succeeded", "failed", "dead"] | None,
    Query(description="only deliveries in this state (dead: the dead letter)"),
]
Cursor = Annotated[ObjectId | None, Query(description="next_cursor of the previous page")]


@router.post("", status_code=201, summary="Create a webhook", responses=WITH_BODY)
async def create_webhook(body: WebhookCreate, ks: Service, principal: Auth) -> CreatedWebhookOut:
    """Needs ``webhooks.write``. The answer holds the signing ``secret``: store it now,
    it is never shown again."""
    created = await ks.webhooks.create(principal, **changes(body))
    return created_webhook_out(created)


@router.get("", summary="List webhooks")
async def list_webhooks(ks: Service, principal: Auth) -> WebhookList:
    """Needs ``webhooks.read``. Secrets are never listed."""
    return WebhookList(items=[webhook_out(w) for w in await ks.webhooks.list(principal)])


@router.get("/deliveries", summary="List deliveries of every webhook")
async def list_all_deliveries(
    ks: Service,
    principal: Auth,
    status: Status = None,
    cursor: Cursor = None,
    limit: PageSize = 100,
) -> DeliveryPage:
    """Needs ``webhooks.read``. ``status=dead`` is the dead letter. Oldest first;
    follow ``next_cursor`` until it is ``null``."""
    page = await ks.webhooks.deliveries(principal, status=status, cursor=cursor, limit=limit)
    return DeliveryPage(items=[delivery_out(d) for d in page.items], next_cursor=page.next_cursor)


@router.get("/deliveries/{delivery_id}", summary="Get a delivery", responses=FOUND)
async def get_delivery(delivery_id: DeliveryId, ks: Service, principal: Auth) -> DeliveryDetailOut:
    """Needs ``webhooks.read``. With every attempt: status code or error, duration,
    and the first 1 KiB of the answer."""
    return delivery_detail_out(await ks.webhooks.delivery(principal, delivery_id))


@router.post(
    "/deliveries/{delivery_id}/replay",
    summary="Replay a delivery",
    responses={**FOUND, **CONFLICT},
)
async def replay_delivery(delivery_id: DeliveryId, ks: Service, principal: Auth) -> DeliveryOut:
    """Needs ``webhooks.write``. Queues the delivery again, due now, with a fresh
    attempt budget and the payload it was created with. 409 while it is pending."""
    return delivery_out(await ks.webhooks.replay(principal, delivery_id))


@router.get("/{webhook_id}", summary="Get a webhook", responses=FOUND)
async def get_webhook(webhook_id: WebhookId, ks: Service, principal: Auth) -> WebhookOut:
    """Needs ``webhooks.read``."""
    return webhook_out(await ks.webhooks.get(principal, webhook_id))


@router.patch("/{webhook_id}", summary="Update a webhook", responses={**WITH_BODY, **FOUND})
async def update_webhook(
    webhook_id: WebhookId, body: WebhookUpdate, ks: Service, principal: Auth
) -> WebhookOut:
    """Needs ``webhooks.write``. Partial: url, events, description, enabled. While
    disabled, no new deliveries are queued and queued ones wait."""
    return webhook_out(await ks.webhooks.update(principal, webhook_id, changes(body)))


@router.delete("/{webhook_id}", status_code=204, summary="Delete a webhook", responses=FOUND)
async def delete_webhook(webhook_id: WebhookId, ks: Service, principal: Auth) -> Response:
    """Needs ``webhooks.write``. Its deliveries go with it."""
    await ks.webhooks.delete(principal, webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    summary="Rotate a webhook's secret",
    responses={**WITH_BODY, **FOUND},
)
async def rotate_secret(
    webhook_id: WebhookId,
    ks: Service,
    principal: Auth,
    body: SecretRotation | None = None,
) -> CreatedWebhookOut:
    """Needs ``webhooks.write``. The answer holds the new ``secret`` (shown once).
    For ``expire_old_after_s`` (default one day) deliveries carry a signature by the
    old secret too, so receivers can switch without dropping any."""
    overlap = SecretRotation() if body is None else body
    rotated = await ks.webhooks.rotate_secret(
        principal, webhook_id, expire_old_after_s=overlap.expire_old_after_s
    )
    return created_webhook_out(rotated)


@router.get("/{webhook_id}/deliveries", summary="List a webhook's deliveries", responses=FOUND)
async def list_deliveries(
    webhook_id: WebhookId,
    ks: Service,
    principal: Auth,
    status: Status = None,
    cursor: Cursor = None,
    limit: PageSize = 100,
) -> DeliveryPage:
    """Needs ``webhooks.read``. Oldest first; follow ``next_cursor``."""
    page = await ks.webhooks.deliveries(
        principal, webhook_id=webhook_id, status=status, cursor=cursor, limit=limit
    )
    return DeliveryPage(items=[delivery_out(d) for d in page.items], next_cursor=page.next_cursor)


__all__ = ["router"]
