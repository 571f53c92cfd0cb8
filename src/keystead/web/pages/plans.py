"""Plans (``/ui/plans``): named bundles of limits that keys reference. List,
create, edit and delete through ``ks.plans``, as ``/v1/plans`` does."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response

from keystead.core.models import Plan
from keystead.errors import ValidationError
from keystead.web.nav import allowed
from keystead.web.pages import formvalues as fv
from keystead.web.pages import limitsform
from keystead.web.routing import WebRequest, action, page


def _fields(form: FormData) -> dict[str, Any]:
    priority = fv.whole(form, "priority")
    return {
        "name": fv.text(form, "name") or "",
        "priority": 0 if priority is None else priority,
        **limitsform.parse(fv.text(form, "limits")),
    }


def _values(plan: Plan) -> dict[str, Any]:
    return {"name": plan.name, "priority": plan.priority, "limits": limitsform.show(plan.limits)}


async def _list_page(
    req: WebRequest, values: dict[str, Any] | None = None, error: ValidationError | None = None
) -> Response:
    plans = await req.ks.plans.list(req.principal)
    return req.render(
        "ui/plans/list.html",
        **fv.outcome(error, req.query("done")),
        plans=[(p, limitsform.show(p.limits)) for p in plans],
        values=values or {"priority": "0"},
        example=limitsform.EXAMPLE,
        can_write=allowed(req.principal, ("plans.write",)),
    )


@page("/ui/plans")
async def plans(req: WebRequest) -> Response:
    return await _list_page(req)


@action("/ui/plans")
async def create_plan(req: WebRequest) -> Response:
    form = await req.form()
    try:
        plan = await req.ks.plans.create(req.principal, **_fields(form))
    except ValidationError as exc:
        return await _list_page(req, fv.typed(form), exc)
    return req.redirect(f"/ui/plans/{plan.id}?done=created")


async def _plan_page(
    req: WebRequest,
    plan_id: str,
    values: dict[str, Any] | None = None,
    error: ValidationError | None = None,
) -> Response:
    plan = await req.ks.plans.get(req.principal, plan_id)
    return req.render(
        "ui/plans/detail.html",
        **fv.outcome(error, req.query("done")),
        plan=plan,
        limits=limitsform.show(plan.limits),
        values=values or _values(plan),
        example=limitsform.EXAMPLE,
        can_write=allowed(req.principal, ("plans.write",)),
    )


@page("/ui/plans/{plan_id}")
async def plan_detail(req: WebRequest) -> Response:
    return await _plan_page(req, req.path("plan_id"))


@action("/ui/plans/{plan_id}")
async def update_plan(req: WebRequest) -> Response:
    plan_id = req.path("plan_id")
    form = await req.form()
    try:
        await req.ks.plans.update(req.principal, plan_id, _fields(form))
    except ValidationError as exc:
        return await _plan_page(req, plan_id, fv.typed(form), exc)
    return req.redirect(f"/ui/plans/{plan_id}?done=updated")


@action("/ui/plans/{plan_id}/delete")
async def delete_plan(req: WebRequest) -> Response:
    await req.ks.plans.delete(req.principal, req.path("plan_id"))
    return req.redirect("/ui/plans?done=deleted")
