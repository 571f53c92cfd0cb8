"""Webhook endpoints, their deliveries, and this node's dispatcher.

A webhook secret exists in plaintext only in the answers of ``create`` and
``rotate_secret`` and, briefly, while the dispatcher signs a delivery; the store
holds it sealed under the master key (``keystead.events.webhooks.sealing``).

Endpoints see every event of their workspace, so only a root key that spans the
workspace (not narrowed to some APIs or one owner) may read or manage them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from keystead.core.authz import Principal
from keystead.core.ids import looks_like_id, new_id
from keystead.core.models import Page
from keystead.errors import Conflict, Forbidden, NotFound, ValidationError
from keystead.events.webhooks import (
    DeliveryPolicy,
    SecretBox,
    WebhookDispatcher,
    new_secret,
)
from keystead.service import fields
from keystead.service import webhook_fields as wf
from keystead.service.context import ServiceContext
from keystead.store.webhooks import (
    DELIVERY_STATUSES,
    REPLAYABLE_STATUSES,
    Delivery,
    DeliveryAttempt,
    Webhook,
)


@dataclass(slots=True, frozen=True)
class CreatedWebhook:
    """An endpoint and its secret: the one time the secret is shown."""

    webhook: Webhook
    secret: str = field(repr=False)


@dataclass(slots=True, frozen=True)
class DeliveryDetail:
    delivery: Delivery
    attempts: list[DeliveryAttempt]


class WebhookService:
    def __init__(self, ctx: ServiceContext, box: SecretBox) -> None:
        self._ctx = ctx
        self._box = box
        self.dispatcher: WebhookDispatcher | None = None

    # endpoints --------------------------------------------------------------

    async def create(
        self,
        principal: Principal,
        *,
        url: str,
        events: Sequence[str],
        description: str | None = None,
        enabled: bool = True,
    ) -> CreatedWebhook:
        _require(principal, "webhooks.write")
        now = self._ctx.now()
        webhook_id = new_id("wh", self._ctx.clock.now())
        secret = new_secret()
        webhook = Webhook(
            id=webhook_id,
            workspace_id=principal.workspace_id,
            url=wf.url(url),
            events=wf.event_types(events),
            description=wf.description(description),
            enabled=wf.enabled(enabled),
            created_at=now,
            updated_at=now,
            sealed_secret=self._box.seal(secret, principal.workspace_id, webhook_id),
        )
        self._ctx.audit(principal, "webhook.create", "webhook", webhook.id, after=webhook)
        await self._ctx.store.insert_webhook(webhook)
        return CreatedWebhook(webhook, secret)

    async def list(self, principal: Principal) -> list[Webhook]:
        _require(principal, "webhooks.read")
        return await self._ctx.store.list_webhooks(principal.workspace_id)

    async def get(self, principal: Principal, webhook_id: str) -> Webhook:
        _require(principal, "webhooks.read")
        return await self._visible(principal, webhook_id)

    async def update(
        self, principal: Principal, webhook_id: str, changes: Mapping[str, Any]
    ) -> Webhook:
        """Partial: ``url``, ``events``, ``description`` (``None`` clears it), ``enabled``."""
        _require(principal, "webhooks.write")
        if not isinstance(changes, Mapping):
            raise ValidationError("the changes are a JSON object")
        unknown = sorted(set(changes) - wf.CHANGE_FIELDS)
        if unknown:
            raise ValidationError(
                f"unknown webhook field '{unknown[0]}'; use {', '.join(sorted(wf.CHANGE_FIELDS))}",
                field=unknown[0],
            )
        current = await self._visible(principal, webhook_id)
        values: dict[str, Any] = {"updated_at": self._ctx.now()}
        if "url" in changes:
            values["url"] = wf.url(changes["url"])
        if "events" in changes:
            values["events"] = list(wf.event_types(changes["events"]))
        if "description" in changes:
            values["description"] = wf.description(changes["description"])
        if "enabled" in changes:
            values["enabled"] = wf.enabled(changes["enabled"])
        before = {name: getattr(current, name, None) for name in values}
        self._ctx.audit(
            principal, "webhook.update", "webhook", current.id, before=before, after=values
        )
        updated = await self._ctx.store.update_webhook(principal.workspace_id, webhook_id, values)
        if updated is None:
            raise NotFound(f"no webhook '{webhook_id}'")
        if updated.enabled:
            self._wake()  # deliveries held while it was disabled are due
        return updated

    async def delete(self, principal: Principal, webhook_id: str) -> None:
        """Delete the endpoint and its deliveries (pending ones are dropped)."""
        _require(principal, "webhooks.write")
        current = await self._visible(principal, webhook_id)
        self._ctx.audit(principal, "webhook.delete", "webhook", current.id, before=current)
        if not await self._ctx.store.delete_webhook(principal.workspace_id, webhook_id):
            raise NotFound(f"no webhook '{webhook_id}'")

    async def rotate_secret(
        self,
        principal: Principal,
        webhook_id: str,
        *,
        expire_old_after_s: int = wf.DEFAULT_OVERLAP_S,
    ) -> CreatedWebhook:
        """A new secret, shown this once. Deliveries are signed with the old one
        too for ``expire_old_after_s`` seconds (0: at once no more), so receivers
        can switch over; a secret older than the current one is dropped."""
        _require(principal, "webhooks.write")
        overlap = wf.overlap(expire_old_after_s)
        current = await self._visible(principal, webhook_id)
        now = self._ctx.now()
        secret = new_secret()
        values: dict[str, Any] = {
            "secret": self._box.seal(secret, current.workspace_id, current.id),
            "old_secret": current.sealed_secret if overlap else None,
            "old_secret_expires_at": now + timedelta(seconds=overlap) if overlap else None,
            "updated_at": now,
        }
        self._ctx.audit(
            principal,
            "webhook.rotate_secret",
            "webhook",
            current.id,
            after={"old_secret_expires_at": values["old_secret_expires_at"]},
        )
        updated = await self._ctx.store.update_webhook(principal.workspace_id, current.id, values)
        if updated is None:
            raise NotFound(f"no webhook '{webhook_id}'")
        return CreatedWebhook(updated, secret)

    # deliveries -------------------------------------------------------------

    async def deliveries(
        self,
        principal: Principal,
        *,
        webhook_id: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        """Deliveries, oldest first; of one endpoint, or of every endpoint
        (``status="dead"``: the dead letter)."""
        _require(principal, "webhooks.read")
        if webhook_id is not None:
            await self._visible(principal, webhook_id)
        if status is not None and status not in DELIVERY_STATUSES:
            raise ValidationError(
                f"status is one of {', '.join(DELIVERY_STATUSES)}", field="status"
            )
        fields.page_cursor("dlv", cursor)
        fields.page_size(limit)
        found = await self._ctx.store.list_deliveries(
            principal.workspace_id,
            webhook_id=webhook_id,
            status=status,
            after=cursor,
            limit=limit + 1,
        )
        items = found[:limit]
        return Page(items=items, next_cursor=items[-1].id if len(found) > limit else None)

    async def delivery(self, principal: Principal, delivery_id: str) -> DeliveryDetail:
        _require(principal, "webhooks.read")
        found = await self._visible_delivery(principal, delivery_id)
        return DeliveryDetail(found, await self._ctx.store.list_attempts(found.id))

    async def replay(self, principal: Principal, delivery_id: str) -> Delivery:
        """Queue a delivery again, due now, with a fresh attempt budget. 409 for one
        still pending (it is queued already)."""
        _require(principal, "webhooks.write")
        current = await self._visible_delivery(principal, delivery_id)
        if current.status not in REPLAYABLE_STATUSES:
            raise Conflict(f"delivery '{delivery_id}' is {current.status}: it is queued already")
        self._ctx.audit(principal, "delivery.replay", "delivery", current.id)
        replayed, found = await self._ctx.store.replay_delivery(
            principal.workspace_id, delivery_id, self._ctx.now()
        )
        if found is None:
            raise NotFound(f"no delivery '{delivery_id}'")
        if not replayed:
            raise Conflict(f"delivery '{delivery_id}' is {found.status}: it is queued already")
        self._wake()
        return found

    # the dispatcher ---------------------------------------------------------

    def make_dispatcher(self, policy: DeliveryPolicy | None = None) -> WebhookDispatcher:
        """A dispatcher over this service's store and secrets, not started: for
        ``run_once()`` from a job, or another policy than the settings'."""
        return WebhookDispatcher(
            self._ctx.store,
            self._box,
            policy or DeliveryPolicy.from_settings(self._ctx.settings),
            self._ctx.clock,
        )

    async def start_dispatcher(self) -> WebhookDispatcher:
        """Deliver webhooks from this node (idempotent)."""
        if self.dispatcher is None:
            self.dispatcher = self.make_dispatcher()
            self._ctx.event_hooks.append(self.dispatcher.wake)
        await self.dispatcher.start()
        return self.dispatcher

    async def stop_dispatcher(self) -> None:
        dispatcher, self.dispatcher = self.dispatcher, None
        if dispatcher is None:
            return
        if dispatcher.wake in self._ctx.event_hooks:
            self._ctx.event_hooks.remove(dispatcher.wake)
        await dispatcher.stop()

    # helpers ----------------------------------------------------------------

    def _wake(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()

    async def _visible(self, principal: Principal, webhook_id: str) -> Webhook:
        found = None
        if isinstance(webhook_id, str) and looks_like_id("wh", webhook_id):
            found = await self._ctx.store.get_webhook(principal.workspace_id, webhook_id)
        if found is None:
            raise NotFound(f"no webhook '{webhook_id}'")
        return found

    async def _visible_delivery(self, principal: Principal, delivery_id: str) -> Delivery:
        found = None
        if isinstance(delivery_id, str) and looks_like_id("dlv", delivery_id):
            found = await self._ctx.store.get_delivery(principal.workspace_id, delivery_id)
        if found is None:
            raise NotFound(f"no delivery '{delivery_id}'")
        return found


def _require(principal: Principal, permission: str) -> None:
    principal.require(permission)
    if principal.api_ids is not None or principal.owner_id is not None:
        raise Forbidden(
            "webhooks carry every event of the workspace: a root key narrowed to some "
            "APIs or to one owner cannot use them"
        )


__all__ = ["CreatedWebhook", "DeliveryDetail", "WebhookService"]
