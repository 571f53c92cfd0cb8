"""``/ui/keys``: the key list (filters, search, cursor pages) and ``/ui/keys/new``.

A created key is revealed once, in the answer to the POST that created it:
never in a URL, a redirect or any later page.
"""

from __future__ import annotations

from typing import Any, cast

from starlette.responses import Response

from keystead.core.models import Api, KeyState, Page, Plan
from keystead.errors import ValidationError
from keystead.web.pages import key_form
from keystead.web.routing import WebRequest, action, page

PAGE_SIZE = 50
STATES = ("active", "disabled", "revoked", "expired", "pending")
FILTERS = ("api_id", "state", "owner_id", "plan_id", "environment", "q")
QUOTA_PERIODS = ("day", "week", "month")


def can(req: WebRequest, permission: str) -> bool:
    return req.principal.grants.covers(permission)


async def apis_of(req: WebRequest) -> list[Api]:
    """The APIs the session sees, for filters and forms; none without ``apis.read``."""
    if not can(req, "apis.read"):
        return []
    return await req.ks.apis.list(req.principal)


async def plans_of(req: WebRequest) -> list[Plan]:
    """The workspace's plans, for filters and forms; none without ``plans.read``."""
    if not can(req, "plans.read"):
        return []
    return await req.ks.plans.list(req.principal)


async def _list(req: WebRequest, given: dict[str, str]) -> Page:
    """One page of keys: the service's list, never more than PAGE_SIZE rows."""
    state = given.get("state")
    if state is not None and state not in STATES:
        raise ValidationError(f"state is one of {', '.join(STATES)}", field="state")
    return await req.ks.keys.list(
        req.principal,
        api_id=given.get("api_id"),
        owner_id=given.get("owner_id"),
        state=cast(KeyState | None, state),
        plan_id=given.get("plan_id"),
        environment=given.get("environment"),
        search=given.get("q"),
        cursor=req.query("cursor"),
        limit=PAGE_SIZE,
    )


@page("/ui/keys")
async def key_list(req: WebRequest) -> Response:
    given = {name: value for name in FILTERS if (value := req.query(name)) is not None}
    found = await _list(req, given)
    apis = await apis_of(req)
    plans = await plans_of(req)
    now = req.ks.clock.now()
    rows = [(key, key.state_at(now)) for key in found.items]
    return req.render(
        "ui/keys/list.html",
        rows=rows,
        next_cursor=found.next_cursor,
        params=given,
        filters=given,
        apis=apis,
        api_names={a.id: a.name for a in apis},
        plans=plans,
        plan_names={p.id: p.name for p in plans},
        states=STATES,
        can_create=can(req, "keys.create"),
    )


async def _form_page(
    req: WebRequest,
    values: dict[str, Any],
    *,
    error: ValidationError | None = None,
    status: int = 200,
) -> Response:
    return req.render(
        "ui/keys/new.html",
        status=status,
        values=values,
        error=error,
        apis=await apis_of(req),
        plans=await plans_of(req),
        periods=QUOTA_PERIODS,
    )


@page("/ui/keys/new")
async def new_key(req: WebRequest) -> Response:
    req.principal.require("keys.create")
    return await _form_page(req, {"api_id": req.query("api_id") or ""})


@action("/ui/keys/new")
async def create_key(req: WebRequest) -> Response:
    form = await req.form()
    typed = {name: value for name, value in form.multi_items() if name != "csrf"}
    try:
        spec = key_form.create_spec(form)
        created = await req.ks.keys.create(req.principal, spec)
    except ValidationError as exc:
        values: dict[str, Any] = {k: v for k, v in typed.items() if isinstance(v, str)}
        values["rl_rows"] = list(
            zip(
                form.getlist("rl_name"),
                form.getlist("rl_limit"),
                form.getlist("rl_duration_s"),
                strict=False,
            )
        )
        return await _form_page(req, values, error=exc, status=422)
    return req.render(
        "ui/keys/created.html", status=201, key=created.key, plaintext=created.plaintext
    )


__all__ = ["PAGE_SIZE", "apis_of", "can", "plans_of"]
