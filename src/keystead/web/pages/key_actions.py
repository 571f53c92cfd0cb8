"""What a person does to a key from its page: edit, enable, disable, rotate
with a grace period, revoke, and report it compromised. Each calls the service
method its ``/v1`` route calls, with the session's principal; the framework has
checked the CSRF token before any of these runs.

A new key (rotation, compromise with a replacement) is revealed in the answer
to the POST itself, never through a redirect.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response

from keystead.core.models import Key
from keystead.errors import ValidationError
from keystead.web.pages import formvalues, key_form
from keystead.web.pages.keys import QUOTA_PERIODS, plans_of
from keystead.web.routing import WebRequest, action, page


def _to_key(req: WebRequest, key_id: str, done: str) -> Response:
    return req.redirect(f"/ui/keys/{key_id}?done={done}")


async def _edit_page(
    req: WebRequest,
    key_id: str,
    values: dict[str, Any] | None = None,
    error: ValidationError | None = None,
    *,
    limits: dict[str, Any] | None = None,
    limits_error: ValidationError | None = None,
) -> Response:
    key = await req.ks.keys.get(req.principal, key_id)
    failed = error is not None or limits_error is not None
    return req.render(
        "ui/keys/edit.html",
        status=422 if failed else 200,
        key=key,
        values=values if values is not None else key_form.form_values(key),
        limits=limits if limits is not None else key_form.limit_values(key.limits),
        credits=await req.ks.keys.credits(req.principal, key.id),
        periods=QUOTA_PERIODS,
        plans=await plans_of(req),
        error=error,
        limits_error=limits_error,
    )


@page("/ui/keys/{key_id}/edit")
async def edit_key(req: WebRequest) -> Response:
    req.principal.require("keys.update")
    return await _edit_page(req, req.path("key_id"))


async def _update_from(
    req: WebRequest,
    changes_of: Callable[[FormData, Key], dict[str, Any]],
    again: Callable[[FormData, ValidationError], Awaitable[Response]],
) -> Response:
    """Apply one of the edit page's forms to the key in the path, or show the
    page again with what was typed and the error."""
    key_id = req.path("key_id")
    form = await req.form()
    current = await req.ks.keys.get(req.principal, key_id)
    try:
        await req.ks.keys.update(req.principal, key_id, changes_of(form, current))
    except ValidationError as exc:
        return await again(form, exc)
    return _to_key(req, key_id, "updated")


@action("/ui/keys/{key_id}/edit")
async def update_key(req: WebRequest) -> Response:
    async def again(form: FormData, exc: ValidationError) -> Response:
        typed = {k: v for k, v in form.multi_items() if k != "csrf" and isinstance(v, str)}
        return await _edit_page(req, req.path("key_id"), typed, exc)

    return await _update_from(
        req, lambda form, key: key_form.update_changes(form, key.restrictions), again
    )


@action("/ui/keys/{key_id}/limits")
async def update_limits(req: WebRequest) -> Response:
    async def again(form: FormData, exc: ValidationError) -> Response:
        typed: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        rows = (form.getlist(name) for name in ("rl_name", "rl_limit", "rl_duration_s"))
        typed["rl_rows"] = list(zip(*rows, strict=False))
        return await _edit_page(req, req.path("key_id"), limits=typed, limits_error=exc)

    return await _update_from(
        req, lambda form, key: key_form.limit_changes(form, key.limits), again
    )


@action("/ui/keys/{key_id}/enable")
async def enable_key(req: WebRequest) -> Response:
    key = await req.ks.keys.enable(req.principal, req.path("key_id"))
    return _to_key(req, key.id, "enabled")


@action("/ui/keys/{key_id}/disable")
async def disable_key(req: WebRequest) -> Response:
    key = await req.ks.keys.disable(req.principal, req.path("key_id"))
    return _to_key(req, key.id, "disabled")


@action("/ui/keys/{key_id}/revoke")
async def revoke_key(req: WebRequest) -> Response:
    key = await req.ks.keys.revoke(req.principal, req.path("key_id"))
    return _to_key(req, key.id, "revoked")


@action("/ui/keys/{key_id}/rotate")
async def rotate_key(req: WebRequest) -> Response:
    form = await req.form()
    grace = key_form.integer(form, "grace_period_s")
    rotation = await req.ks.rotation.rotate(req.principal, req.path("key_id"), grace_period_s=grace)
    note = f"The old key {rotation.old.start}… keeps working until its grace period ends."
    return req.render(
        "ui/keys/created.html",
        status=201,
        heading="Key rotated",
        key=rotation.new.key,
        plaintext=rotation.new.plaintext,
        note=note,
        grace_ends_at=rotation.grace_ends_at,
    )


@action("/ui/keys/{key_id}/compromise")
async def compromise_key(req: WebRequest) -> Response:
    """The compromise procedure: revoke now, optionally replace (shown once),
    notify the webhooks, and open an incident holding the evidence."""
    form = await req.form()
    done = await req.ks.incidents.compromise(
        req.principal,
        req.path("key_id"),
        replace=form.get("replace") == "on",
        reason=formvalues.text(form, "reason"),
        notify=form.get("notify") == "on",
    )
    return req.render(
        "ui/keys/compromised.html",
        status=201,
        done=done,
        plaintext=None if done.replacement is None else done.replacement.plaintext,
    )


__all__ = ["compromise_key", "rotate_key"]
