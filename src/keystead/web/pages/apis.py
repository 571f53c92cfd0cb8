"""``/ui/apis``: the APIs of the workspace; create one (name, prefix, key
defaults) and edit its name and key defaults."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.datastructures import FormData
from starlette.responses import Response

from keystead.core.models import Api
from keystead.errors import ValidationError
from keystead.web.pages import formvalues, key_form
from keystead.web.pages.keys import can
from keystead.web.routing import WebRequest, action, page

DAY_S = 86_400


def key_defaults(form: FormData) -> dict[str, Any]:
    """The ``key_defaults`` object from the form's default fields."""
    out: dict[str, Any] = {}
    permissions = key_form.lines(formvalues.text(form, "d_permissions"))
    if permissions:
        out["permissions"] = permissions
    roles = key_form.lines(formvalues.text(form, "d_roles"))
    if roles:
        out["roles"] = roles
    environment = formvalues.text(form, "d_environment")
    if environment is not None:
        out["environment"] = environment
    days = key_form.integer(form, "d_expires_in_days", minimum=1)
    if days is not None:
        out["expires_in_s"] = days * DAY_S
    found = key_form.meta(form, "d_meta")
    if found:
        out["meta"] = found
    if form.get("d_disabled") == "on":
        out["enabled"] = False
    return out


def defaults_values(api: Api) -> dict[str, str]:
    d = api.key_defaults
    seconds = d.get("expires_in_s")
    return {
        "name": api.name,
        "d_permissions": "\n".join(d.get("permissions", [])),
        "d_roles": "\n".join(d.get("roles", [])),
        "d_environment": d.get("environment") or "",
        "d_expires_in_days": "" if seconds is None else str(max(1, seconds // DAY_S)),
        "d_meta": orjson.dumps(d["meta"]).decode() if d.get("meta") else "",
        "d_disabled": "on" if d.get("enabled") is False else "",
    }


def _typed(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.multi_items() if k != "csrf" and isinstance(v, str)}


async def _list_page(
    req: WebRequest, values: dict[str, str], error: ValidationError | None = None
) -> Response:
    return req.render(
        "ui/apis/list.html",
        status=200 if error is None else 422,
        apis=await req.ks.apis.list(req.principal),
        values=values,
        error=error,
        can_create=can(req, "apis.create"),
    )


@page("/ui/apis")
async def api_list(req: WebRequest) -> Response:
    return await _list_page(req, {})


@action("/ui/apis")
async def create_api(req: WebRequest) -> Response:
    form = await req.form()
    try:
        api = await req.ks.apis.create(
            req.principal,
            name=formvalues.text(form, "name") or "",
            prefix=formvalues.text(form, "prefix"),
            key_defaults=key_defaults(form),
        )
    except ValidationError as exc:
        return await _list_page(req, _typed(form), exc)
    return req.redirect(f"/ui/apis/{api.id}?done=created")


async def _edit_page(
    req: WebRequest, api: Api, values: dict[str, str], error: ValidationError | None = None
) -> Response:
    roles = await req.ks.apis.list_roles(req.principal, api.id) if can(req, "roles.read") else []
    return req.render(
        "ui/apis/edit.html",
        status=200 if error is None else 422,
        api=api,
        roles=roles,
        values=values,
        error=error,
        done=req.query("done"),
        can_update=can(req, "apis.update"),
        can_create_key=can(req, "keys.create"),
    )


@page("/ui/apis/{api_id}")
async def api_detail(req: WebRequest) -> Response:
    api = await req.ks.apis.get(req.principal, req.path("api_id"))
    return await _edit_page(req, api, defaults_values(api))


@action("/ui/apis/{api_id}")
async def update_api(req: WebRequest) -> Response:
    api_id = req.path("api_id")
    form = await req.form()
    try:
        changes = {"name": formvalues.text(form, "name"), "key_defaults": key_defaults(form)}
        api = await req.ks.apis.update(req.principal, api_id, changes)
    except ValidationError as exc:
        api = await req.ks.apis.get(req.principal, api_id)
        return await _edit_page(req, api, _typed(form), exc)
    return req.redirect(f"/ui/apis/{api.id}?done=saved")


__all__ = ["defaults_values", "key_defaults"]
