"""Root keys and service tokens (``/ui/root-keys``): a service token is a root
key with narrow grants. List, create (permissions, APIs and owner narrowed; the
key revealed once) and revoke with a confirmation, through ``ks.root_keys`` as
``/v1/root_keys`` does: a root key never grants more than its creator holds."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from keystead.core.authz import ROOT_PERMISSIONS
from keystead.errors import Forbidden, ValidationError
from keystead.web.nav import allowed
from keystead.web.pages import formvalues as fv
from keystead.web.pages.roles import permissions as split_permissions
from keystead.web.routing import WebRequest, action, page


async def _page(
    req: WebRequest, values: dict[str, Any] | None = None, error: ValidationError | None = None
) -> Response:
    p = req.principal
    keys = await req.ks.root_keys.list(p)
    can_create = allowed(p, ("root_keys.create",))
    apis = []
    if can_create:
        try:
            apis = await req.ks.apis.list(p)
        except Forbidden:
            apis = []
    return req.render(
        "ui/root_keys/list.html",
        **fv.outcome(error, req.query("done")),
        keys=sorted(keys, key=lambda k: (k.revoked_at is not None, k.created_at), reverse=False),
        grantable=[perm for perm in ROOT_PERMISSIONS if p.grants.covers(perm)],
        all_grantable=p.grants.covers("*"),
        apis=apis,
        values=values or {},
        can_create=can_create,
        can_revoke=allowed(p, ("root_keys.revoke",)),
        own_id=p.actor.removeprefix("root_key:"),
    )


@page("/ui/root-keys")
async def root_keys(req: WebRequest) -> Response:
    return await _page(req)


@action("/ui/root-keys")
async def create_root_key(req: WebRequest) -> Response:
    form = await req.form()
    wanted = fv.texts(form, "permissions") + split_permissions(fv.text(form, "extra"))
    api_ids = fv.texts(form, "api_ids")
    try:
        if not wanted:
            raise ValidationError("choose at least one permission", field="permissions")
        created = await req.ks.root_keys.create(
            req.principal,
            name=fv.text(form, "name"),
            permissions=list(dict.fromkeys(wanted)),
            api_ids=api_ids or None,
            owner_id=fv.text(form, "owner_id"),
        )
    except ValidationError as exc:
        values = fv.typed(form)
        values["permissions"] = fv.texts(form, "permissions")
        values["api_ids"] = api_ids
        return await _page(req, values, exc)
    return req.render(
        "ui/root_keys/created.html",
        status=201,
        root_key=created.root_key,
        plaintext=created.plaintext,
    )


@action("/ui/root-keys/{root_key_id}/revoke")
async def revoke_root_key(req: WebRequest) -> Response:
    revoked = await req.ks.root_keys.revoke(req.principal, req.path("root_key_id"))
    if revoked.id == req.principal.actor.removeprefix("root_key:"):
        return req.redirect("/ui/sign-in")  # the session's own key: signed out with it
    return req.redirect("/ui/root-keys?done=revoked")
