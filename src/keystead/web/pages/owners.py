"""Owners (``/ui/owners``): the limits shared by every key of one ``owner_id``.
List, a detail page with the owner's keys linked, set (replace) and remove the
limits, through ``ks.owners`` as ``/v1/owners`` does. An owner id is free text
(``/`` included), so the actions take it in the form, not the path."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from keystead.core.models import Owner
from keystead.errors import NotFound, ValidationError
from keystead.web.nav import allowed
from keystead.web.pages import formvalues as fv
from keystead.web.pages import limitsform
from keystead.web.routing import WebRequest, action, page


def owner_url(owner_id: str) -> str:
    return "/ui/owners/" + quote(owner_id, safe="")


async def _list_page(
    req: WebRequest, values: dict[str, Any] | None = None, error: ValidationError | None = None
) -> Response:
    cursor = req.query("cursor") or None
    found = await req.ks.owners.overview(req.principal, cursor=cursor)
    return req.render(
        "ui/owners/list.html",
        **fv.outcome(error, req.query("done")),
        owners=[
            (row, limitsform.show(row.owner.limits) if row.owner else "", owner_url(row.owner_id))
            for row in found.items
        ],
        next_cursor=found.next_cursor,
        values=values or {},
        example=limitsform.EXAMPLE,
        can_write=allowed(req.principal, ("owners.write",)),
    )


@page("/ui/owners")
async def owners(req: WebRequest) -> Response:
    return await _list_page(req)


async def _owner_page(
    req: WebRequest,
    owner_id: str,
    values: dict[str, Any] | None = None,
    error: ValidationError | None = None,
) -> Response:
    owner: Owner | None
    try:
        owner = await req.ks.owners.get(req.principal, owner_id)
    except NotFound:
        owner = None  # no limits set: the page offers to set some
    limits = "" if owner is None else limitsform.show(owner.limits)
    return req.render(
        "ui/owners/detail.html",
        **fv.outcome(error, req.query("done")),
        owner_id=owner_id,
        owner=owner,
        limits=limits,
        values=values or {"owner_id": owner_id, "limits": limits},
        example=limitsform.EXAMPLE,
        can_write=allowed(req.principal, ("owners.write",)),
    )


@page("/ui/owners/{owner_id:path}")
async def owner_detail(req: WebRequest) -> Response:
    return await _owner_page(req, req.path("owner_id"))


@action("/ui/owners")
async def put_owner(req: WebRequest) -> Response:
    """Set (replace) an owner's limits; ``from`` says which page to re-render."""
    form = await req.form()
    owner_id = fv.text(form, "owner_id") or ""
    try:
        await req.ks.owners.put(
            req.principal, owner_id, **limitsform.parse(fv.text(form, "limits"))
        )
    except ValidationError as exc:
        if fv.text(form, "from") == "detail" and owner_id:
            return await _owner_page(req, owner_id, fv.typed(form), exc)
        return await _list_page(req, fv.typed(form), exc)
    return req.redirect(owner_url(owner_id) + "?done=updated")


@action("/ui/owners/delete")
async def delete_owner(req: WebRequest) -> Response:
    owner_id = fv.text(await req.form(), "owner_id") or ""
    await req.ks.owners.delete(req.principal, owner_id)
    return req.redirect("/ui/owners?done=deleted")
