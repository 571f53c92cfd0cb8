"""Webhook endpoints, the fan-out of the outbox into deliveries, and the claims
that let several nodes send deliveries without sending one attempt twice.

Both queue operations take rows the same way. On PostgreSQL and MariaDB (10.6+) a
``SELECT ... LIMIT n FOR UPDATE SKIP LOCKED`` picks rows no other node holds, then an
UPDATE marks them (MariaDB has no ``UPDATE ... RETURNING``: the locked rows are read after),
in one transaction (not ``UPDATE ... WHERE id IN (SELECT ... LIMIT n)``: PostgreSQL
may evaluate that subquery more than once and take more than n rows). On SQLite
one ``UPDATE ... WHERE id IN (SELECT ...) RETURNING`` takes the single write lock
first and checks its ``WHERE`` under it. The fan-out writes the
deliveries in the transaction that marks the events dispatched, and a unique
(webhook, event) pair stops a second delivery of one event to one endpoint.

Its methods restate ``store.webhooks.WebhookStore``: the protocol other backends implement too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from keystead.core.at_rest import key_version_of
from keystead.core.events import Event
from keystead.store.sql import rows
from keystead.store.sql import webhook_rows as wrows
from keystead.store.sql.base import SqlBase
from keystead.store.sql.tables import deliveries, delivery_attempts, outbox, webhooks
from keystead.store.webhooks import (
    DUE_STATUSES,
    REPLAYABLE_STATUSES,
    AttemptOutcome,
    ClaimedDelivery,
    Delivery,
    DeliveryAttempt,
    Webhook,
)

_WEBHOOK_UPDATABLE = frozenset(
    {
        "url",
        "events",
        "description",
        "enabled",
        "updated_at",
        "secret",
        "old_secret",
        "old_secret_expires_at",
    }
)


class WebhookQueries(SqlBase):
    # endpoints --------------------------------------------------------------
    async def insert_webhook(self, webhook: Webhook) -> None:
        async with self._tx() as c:
            await c.execute(webhooks.insert().values(**wrows.webhook_values(webhook)))

    async def get_webhook(self, workspace_id: str, webhook_id: str) -> Webhook | None:
        row = await self._one(
            sa.select(webhooks).where(
                (webhooks.c.workspace_id == workspace_id) & (webhooks.c.id == webhook_id)
            )
        )
        return None if row is None else wrows.webhook(row)

    async def list_webhooks(self, workspace_id: str) -> list[Webhook]:
        found = await self._all(
            sa.select(webhooks)
            .where(webhooks.c.workspace_id == workspace_id)
            .order_by(webhooks.c.id)
        )
        return [wrows.webhook(r) for r in found]

    async def update_webhook(
        self, workspace_id: str, webhook_id: str, values: Mapping[str, Any]
    ) -> Webhook | None:
        unknown = set(values) - _WEBHOOK_UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        values = dict(values)
        for blob, column in (("secret", "key_version"), ("old_secret", "old_key_version")):
            if blob in values:  # the master-key version is the sealed item's own
                values[column] = key_version_of(values[blob])
        scope = (webhooks.c.workspace_id == workspace_id) & (webhooks.c.id == webhook_id)
        async with self._tx() as c:
            if values:
                await c.execute(webhooks.update().where(scope).values(**values))
            row = (await c.execute(sa.select(webhooks).where(scope))).first()
        return None if row is None else wrows.webhook(row)

    async def delete_webhook(self, workspace_id: str, webhook_id: str) -> bool:
        """Delete the endpoint with its deliveries and their attempts."""
        scope = (webhooks.c.workspace_id == workspace_id) & (webhooks.c.id == webhook_id)
        async with self._tx() as c:
            found = (await c.execute(sa.select(webhooks.c.id).where(scope))).first()
            if found is None:
                return False
            of_hook = sa.select(deliveries.c.id).where(deliveries.c.webhook_id == webhook_id)
            await c.execute(
                delivery_attempts.delete().where(delivery_attempts.c.delivery_id.in_(of_hook))
            )
            await c.execute(deliveries.delete().where(deliveries.c.webhook_id == webhook_id))
            await c.execute(webhooks.delete().where(scope))
        return True

    # the queue --------------------------------------------------------------
    async def fan_out_events(
        self,
        now: datetime,
        *,
        limit: int,
        render: Callable[[Event], str],
        new_delivery_id: Callable[[], str],
    ) -> int:
        """Mark up to ``limit`` undispatched events dispatched and, in the same
        transaction, queue a delivery of each for every enabled endpoint of its
        workspace that subscribes to its type. Returns how many events."""
        undispatched = outbox.c.dispatched_at.is_(None)
        pick = sa.select(outbox.c.id).where(undispatched).order_by(outbox.c.id).limit(limit)
        async with self._tx() as c:
            taken = await self._take(
                c, outbox, pick, undispatched, {"dispatched_at": now}, outbox.c
            )
            events = sorted((rows.event(r) for r in taken), key=lambda e: e.id)
            if not events:
                return 0
            workspace_ids = sorted({e.workspace_id for e in events})
            hooks = [
                wrows.webhook(r)
                for r in await c.execute(
                    sa.select(webhooks)
                    .where(webhooks.c.workspace_id.in_(workspace_ids))
                    .where(webhooks.c.enabled.is_(True))
                    .order_by(webhooks.c.id)
                )
            ]
            queued: list[dict[str, Any]] = []
            for event in events:
                body: str | None = None
                for hook in hooks:
                    if hook.workspace_id != event.workspace_id or not hook.wants(event.type):
                        continue
                    body = render(event) if body is None else body
                    queued.append(
                        {
                            "id": new_delivery_id(),
                            "workspace_id": event.workspace_id,
                            "webhook_id": hook.id,
                            "event_id": event.id,
                            "event_type": event.type,
                            "body": body,
                            "status": "pending",
                            "attempts": 0,
                            "next_attempt_at": now,
                            "claim": None,
                            "last_attempt_at": None,
                            "last_status_code": None,
                            "last_error": None,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
            if queued:
                await c.execute(deliveries.insert(), queued)
        return len(events)

    async def claim_deliveries(
        self, now: datetime, *, lease_until: datetime, limit: int, claim: str
    ) -> list[ClaimedDelivery]:
        """Take up to ``limit`` due deliveries of enabled endpoints: they carry
        ``claim`` and are not due again before ``lease_until`` (a node that dies
        mid-send leaves them to be retried then)."""
        due = deliveries.c.status.in_(DUE_STATUSES) & (deliveries.c.next_attempt_at <= now)
        enabled = sa.select(webhooks.c.id).where(webhooks.c.enabled.is_(True)).correlate(None)
        values = {"claim": claim, "next_attempt_at": lease_until}
        async with self._tx() as c:
            if self.dialect == "mysql":
                taken = await _claim_on_mysql(c, now, limit, values)
            else:
                due = due & deliveries.c.webhook_id.in_(enabled)
                pick = (
                    sa.select(deliveries.c.id)
                    .where(due)
                    .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
                    .limit(limit)
                )
                taken = [
                    r.id
                    for r in await self._take(c, deliveries, pick, due, values, [deliveries.c.id])
                ]
            if not taken:
                return []
            found = await c.execute(
                sa.select(
                    deliveries,
                    webhooks.c.url.label("hook_url"),
                    webhooks.c.secret.label("hook_secret"),
                    webhooks.c.old_secret.label("hook_old_secret"),
                    webhooks.c.old_secret_expires_at.label("hook_old_expires_at"),
                )
                .join_from(deliveries, webhooks, webhooks.c.id == deliveries.c.webhook_id)
                .where(deliveries.c.id.in_(taken))
                .order_by(deliveries.c.id)
            )
            claimed = []
            for r in found:
                old_until = rows.aware(r.hook_old_expires_at)
                old = r.hook_old_secret if old_until is not None and old_until > now else None
                claimed.append(
                    ClaimedDelivery(
                        delivery=wrows.delivery(r),
                        claim=claim,
                        url=r.hook_url,
                        sealed_secret=bytes(r.hook_secret),
                        sealed_old_secret=None if old is None else bytes(old),
                    )
                )
        return claimed

    async def record_attempt(
        self, delivery_id: str, claim: str, outcome: AttemptOutcome, now: datetime
    ) -> bool:
        """Store the attempt, and the delivery's new state if ``claim`` still holds
        it (a replay or an expired lease moved it on: then only the attempt is
        kept). False when the claim was lost."""
        attempt = outcome.attempt
        async with self._tx() as c:
            result = await c.execute(
                deliveries.update()
                .where((deliveries.c.id == delivery_id) & (deliveries.c.claim == claim))
                .values(
                    status=outcome.status,
                    attempts=outcome.attempts,
                    next_attempt_at=outcome.next_attempt_at,
                    claim=None,
                    last_attempt_at=attempt.attempted_at,
                    last_status_code=attempt.status_code,
                    last_error=attempt.error,
                    updated_at=now,
                )
            )
            held = bool(result.rowcount)
            exists = (
                held
                or (
                    await c.execute(
                        sa.select(deliveries.c.id).where(deliveries.c.id == delivery_id)
                    )
                ).first()
                is not None
            )
            if exists:
                await c.execute(delivery_attempts.insert().values(**wrows.attempt_values(attempt)))
        return held

    async def _take(
        self,
        c: AsyncConnection,
        table: sa.Table,
        pick: sa.Select[Any],
        still: sa.ColumnElement[bool],
        values: Mapping[str, Any],
        returning: Iterable[sa.ColumnElement[Any]],
    ) -> list[sa.Row[Any]]:
        """Mark the rows ``pick`` selects (ids) that no other node is taking, and
        return them; ``still`` is the pick's condition, checked again on SQLite."""
        if self.dialect != "sqlite":
            ids = [r[0] for r in await c.execute(pick.with_for_update(skip_locked=True))]
            if not ids:
                return []
            stmt = table.update().where(table.c.id.in_(ids))
            if self.dialect == "mysql":  # no UPDATE ... RETURNING: the rows are locked
                await c.execute(stmt.values(**values))
                chosen = sa.select(*returning).where(table.c.id.in_(ids))
                return list((await c.execute(chosen.order_by(table.c.id))).all())
        else:
            stmt = table.update().where(table.c.id.in_(pick.correlate(None)) & still)
        return list((await c.execute(stmt.values(**values).returning(*returning))).all())

    # reading and replaying --------------------------------------------------
    async def list_deliveries(
        self,
        workspace_id: str,
        *,
        webhook_id: str | None,
        status: str | None,
        after: str | None,
        limit: int,
    ) -> list[Delivery]:
        stmt = sa.select(deliveries).where(deliveries.c.workspace_id == workspace_id)
        if webhook_id is not None:
            stmt = stmt.where(deliveries.c.webhook_id == webhook_id)
        if status is not None:
            stmt = stmt.where(deliveries.c.status == status)
        if after is not None:
            stmt = stmt.where(deliveries.c.id > after)
        found = await self._all(stmt.order_by(deliveries.c.id).limit(limit))
        return [wrows.delivery(r) for r in found]

    async def get_delivery(self, workspace_id: str, delivery_id: str) -> Delivery | None:
        row = await self._one(
            sa.select(deliveries).where(
                (deliveries.c.workspace_id == workspace_id) & (deliveries.c.id == delivery_id)
            )
        )
        return None if row is None else wrows.delivery(row)

    async def list_attempts(self, delivery_id: str) -> list[DeliveryAttempt]:
        found = await self._all(
            sa.select(delivery_attempts)
            .where(delivery_attempts.c.delivery_id == delivery_id)
            .order_by(delivery_attempts.c.attempted_at, delivery_attempts.c.id)
        )
        return [wrows.attempt(r) for r in found]

    async def replay_delivery(
        self, workspace_id: str, delivery_id: str, now: datetime
    ) -> tuple[bool, Delivery | None]:
        """Queue a finished or failing delivery again, due now, with a fresh
        attempt budget. (replayed?, the delivery or None when there is none)."""
        scope = (deliveries.c.workspace_id == workspace_id) & (deliveries.c.id == delivery_id)
        async with self._tx() as c:
            result = await c.execute(
                deliveries.update()
                .where(scope & deliveries.c.status.in_(REPLAYABLE_STATUSES))
                .values(
                    status="pending", attempts=0, next_attempt_at=now, claim=None, updated_at=now
                )
            )
            row = (await c.execute(sa.select(deliveries).where(scope))).first()
        return bool(result.rowcount), None if row is None else wrows.delivery(row)


async def _claim_on_mysql(
    c: AsyncConnection, now: datetime, limit: int, values: Mapping[str, Any]
) -> list[str]:
    """The claim's pick on MariaDB, which locks every row it reads: so one status
    at a time, down the (status, next_attempt_at) index, stopping at ``limit``
    rows (one pick over both statuses would read, lock and sort them all, and a
    racing claim would skip them all); and the enabled endpoints read first
    (a subquery's rows would be locked too)."""
    d = deliveries.c
    hooks = list(
        (await c.execute(sa.select(webhooks.c.id).where(webhooks.c.enabled.is_(True)))).scalars()
    )
    ids: list[str] = []
    for status in DUE_STATUSES:
        if len(ids) >= limit or not hooks:
            break
        pick = (
            sa.select(d.id)
            .where((d.status == status) & (d.next_attempt_at <= now) & d.webhook_id.in_(hooks))
            .order_by(d.next_attempt_at, d.id)
            .limit(limit - len(ids))
            .with_for_update(skip_locked=True)
        )
        ids += [str(i) for i in (await c.execute(pick)).scalars()]
    if ids:
        await c.execute(deliveries.update().where(d.id.in_(ids)).values(**values))
    return ids


__all__ = ["WebhookQueries"]
