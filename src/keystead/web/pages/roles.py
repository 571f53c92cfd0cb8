"""Roles (``/ui/roles``): the named permission sets of one API, which keys
reference by name. Choose an API, then list, create or replace, and delete its
roles through ``ks.apis`` as ``/v1/apis/{api_id}/roles`` does."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from keystead.errors import Forbidden, ValidationError
from keystead.web.nav import allowed
from keystead.web.pages import formvalues as fv
from keystead.web.routing import WebRequest, action, page

_SPLIT = re.compile(r"[\s,]+")


def permissions(text: str | None) -> list[str]:
    """Permissions typed one per line, or separated by commas or spaces."""
    return [p for p in _SPLIT.split(text or "") if p]


async def _page(
    req: WebRequest,
    api_id: str | None,
    values: dict[str, Any] | None = None,
    error: ValidationError | None = None,
) -> Response:
    p = req.principal
    p.require("roles.read")  # the service checks again with each API's roles
    try:
        apis = await req.ks.apis.list(p)
    except Forbidden:
        apis = []  # roles.read without apis.read: the API is named by id
    if api_id is None and apis:
        api_id = apis[0].id
    roles = [] if api_id is None else await req.ks.apis.list_roles(p, api_id)
    return req.render(
        "ui/roles/list.html",
        **fv.outcome(error, req.query("done")),
        apis=apis,
        api_id=api_id,
        api_name=next((a.name for a in apis if a.id == api_id), None),
        roles=roles,
        values=values or {},
        can_write=allowed(p, ("roles.write",)),
    )


@page("/ui/roles")
async def roles(req: WebRequest) -> Response:
    return await _page(req, req.query("api_id"))


@action("/ui/roles")
async def put_role(req: WebRequest) -> Response:
    """Create or replace a role (its permissions and description)."""
    form = await req.form()
    api_id = fv.text(form, "api_id") or ""
    try:
        await req.ks.apis.put_role(
            req.principal,
            api_id,
            fv.text(form, "name") or "",
            permissions(fv.text(form, "permissions")),
            description=fv.text(form, "description"),
        )
    except ValidationError as exc:
        return await _page(req, api_id, fv.typed(form), exc)
    return req.redirect(f"/ui/roles?api_id={api_id}&done=updated")


@action("/ui/roles/delete")
async def delete_role(req: WebRequest) -> Response:
    form = await req.form()
    api_id = fv.text(form, "api_id") or ""
    await req.ks.apis.delete_role(req.principal, api_id, fv.text(form, "name") or "")
    return req.redirect(f"/ui/roles?api_id={api_id}&done=deleted")
