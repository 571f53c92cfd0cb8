"""Webhooks (``/ui/webhooks``): endpoints (list, create with the signing secret
shown once, edit, enable, disable, rotate the secret, delete), their deliveries
with every attempt, the dead letter and replay. Each operation is the
``ks.webhooks`` method its ``/v1/webhooks`` route calls, with the session's
principal (workspace-wide root keys only: the service says so otherwise)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from keystead.core.events import EVENT_TYPES
from keystead.errors import ValidationError
from keystead.service import webhook_fields as wf
from keystead.store.webhooks import DELIVERY_STATUSES
from keystead.web.nav import allowed
from keystead.web.pages import formvalues as fv
from keystead.web.routing import WebRequest, action, page

PAGE = 50
EVENT_CHOICES = (wf.ALL_EVENTS, *EVENT_TYPES)


def _status(req: WebRequest) -> str | None:
    status = req.query("status")
    if status is not None and status not in DELIVERY_STATUSES:
        raise ValidationError(f"status is one of {', '.join(DELIVERY_STATUSES)}", field="status")
    return status


async def _list_page(
    req: WebRequest, values: dict[str, Any] | None = None, error: ValidationError | None = None
) -> Response:
    p = req.principal
    hooks = await req.ks.webhooks.list(p)
    dead = await req.ks.webhooks.deliveries(p, status="dead", limit=PAGE)
    return req.render(
        "ui/webhooks/list.html",
        **fv.outcome(error, req.query("done")),
        webhooks=hooks,
        dead=dead.items,
        dead_more=dead.next_cursor is not None,
        can_write=allowed(p, ("webhooks.write",)),
        events=EVENT_CHOICES,
        values=values or {"events": [wf.ALL_EVENTS]},
    )


@page("/ui/webhooks")
async def webhooks(req: WebRequest) -> Response:
    return await _list_page(req)


def _endpoint_fields(form: Any) -> dict[str, Any]:
    return {
        "url": fv.text(form, "url") or "",
        "events": fv.texts(form, "events"),
        "description": fv.text(form, "description"),
    }


@action("/ui/webhooks")
async def create_webhook(req: WebRequest) -> Response:
    form = await req.form()
    try:
        created = await req.ks.webhooks.create(
            req.principal, **_endpoint_fields(form), enabled=fv.checked(form, "enabled")
        )
    except ValidationError as exc:
        values = fv.typed(form)
        values["events"] = fv.texts(form, "events")
        return await _list_page(req, values, exc)
    return req.render(
        "ui/webhooks/secret.html",
        status=201,
        webhook=created.webhook,
        secret=created.secret,
        created=True,
    )


@page("/ui/webhooks/deliveries")
async def all_deliveries(req: WebRequest) -> Response:
    """Every endpoint's deliveries; ``?status=dead`` is the dead letter."""
    status = _status(req)
    found = await req.ks.webhooks.deliveries(
        req.principal, status=status, cursor=req.query("cursor"), limit=PAGE
    )
    return req.render(
        "ui/webhooks/deliveries.html",
        deliveries=found.items,
        next_cursor=found.next_cursor,
        status_filter=status,
        statuses=DELIVERY_STATUSES,
        can_write=allowed(req.principal, ("webhooks.write",)),
    )


@page("/ui/webhooks/deliveries/{delivery_id}")
async def delivery(req: WebRequest) -> Response:
    detail = await req.ks.webhooks.delivery(req.principal, req.path("delivery_id"))
    return req.render(
        "ui/webhooks/delivery.html",
        delivery=detail.delivery,
        attempts=detail.attempts,
        can_write=allowed(req.principal, ("webhooks.write",)),
        done=fv.done_message(req.query("done")),
    )


@action("/ui/webhooks/deliveries/{delivery_id}/replay")
async def replay(req: WebRequest) -> Response:
    replayed = await req.ks.webhooks.replay(req.principal, req.path("delivery_id"))
    return req.redirect(f"/ui/webhooks/deliveries/{replayed.id}?done=replayed")


async def _detail_page(
    req: WebRequest,
    webhook_id: str,
    values: dict[str, Any] | None = None,
    error: ValidationError | None = None,
) -> Response:
    p = req.principal
    hook = await req.ks.webhooks.get(p, webhook_id)
    status = _status(req)
    found = await req.ks.webhooks.deliveries(
        p, webhook_id=hook.id, status=status, cursor=req.query("cursor"), limit=PAGE
    )
    if values is None:
        values = {"url": hook.url, "events": list(hook.events), "description": hook.description}
    return req.render(
        "ui/webhooks/detail.html",
        **fv.outcome(error, req.query("done")),
        webhook=hook,
        deliveries=found.items,
        next_cursor=found.next_cursor,
        status_filter=status,
        statuses=DELIVERY_STATUSES,
        can_write=allowed(p, ("webhooks.write",)),
        events=EVENT_CHOICES,
        values=values,
    )


@page("/ui/webhooks/{webhook_id}")
async def webhook_detail(req: WebRequest) -> Response:
    return await _detail_page(req, req.path("webhook_id"))


@action("/ui/webhooks/{webhook_id}")
async def update_webhook(req: WebRequest) -> Response:
    webhook_id = req.path("webhook_id")
    form = await req.form()
    try:
        await req.ks.webhooks.update(req.principal, webhook_id, _endpoint_fields(form))
    except ValidationError as exc:
        values = fv.typed(form)
        values["events"] = fv.texts(form, "events")
        return await _detail_page(req, webhook_id, values, exc)
    return req.redirect(f"/ui/webhooks/{webhook_id}?done=updated")


@action("/ui/webhooks/{webhook_id}/enable")
async def enable_webhook(req: WebRequest) -> Response:
    hook = await req.ks.webhooks.update(req.principal, req.path("webhook_id"), {"enabled": True})
    return req.redirect(f"/ui/webhooks/{hook.id}?done=enabled")


@action("/ui/webhooks/{webhook_id}/disable")
async def disable_webhook(req: WebRequest) -> Response:
    hook = await req.ks.webhooks.update(req.principal, req.path("webhook_id"), {"enabled": False})
    return req.redirect(f"/ui/webhooks/{hook.id}?done=disabled")


@action("/ui/webhooks/{webhook_id}/rotate-secret")
async def rotate_secret(req: WebRequest) -> Response:
    form = await req.form()
    try:
        overlap = fv.whole(form, "expire_old_after_s")
    except ValidationError as exc:
        return await _detail_page(req, req.path("webhook_id"), None, exc)
    rotated = await req.ks.webhooks.rotate_secret(
        req.principal,
        req.path("webhook_id"),
        expire_old_after_s=wf.DEFAULT_OVERLAP_S if overlap is None else overlap,
    )
    return req.render(
        "ui/webhooks/secret.html", webhook=rotated.webhook, secret=rotated.secret, created=False
    )


@action("/ui/webhooks/{webhook_id}/delete")
async def delete_webhook(req: WebRequest) -> Response:
    await req.ks.webhooks.delete(req.principal, req.path("webhook_id"))
    return req.redirect("/ui/webhooks?done=deleted")
