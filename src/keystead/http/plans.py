"""``/v1/plans``: named bundles of limits (tiers) that keys reference.

A change to a plan reaches every key on it at once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Response

from keystead.http.auth import Auth, Service
from keystead.http.limit_schemas import PlanCreate, PlanUpdate
from keystead.http.limit_views import PlanList, PlanOut, plan_out
from keystead.http.openapi import CONFLICT, FOUND, WITH_BODY
from keystead.http.routing import router as make_router
from keystead.http.schemas import ObjectId, changes

router = make_router(prefix="/v1/plans", tags=["plans"])

PlanId = Annotated[ObjectId, Path(description="the plan's id (plan_...)")]


def sent(body: PlanCreate) -> dict[str, Any]:
    """The fields sent, ``null`` ones dropped (on creation ``null`` means "none")."""
    return {name: value for name, value in changes(body).items() if value is not None}


@router.post("", status_code=201, summary="Create a plan", responses={**WITH_BODY, **CONFLICT})
async def create_plan(body: PlanCreate, ks: Service, principal: Auth) -> PlanOut:
    """Needs ``plans.write``. Names are unique in the workspace (409 otherwise)."""
    return plan_out(await ks.plans.create(principal, **sent(body)))


@router.get("", summary="List plans")
async def list_plans(ks: Service, principal: Auth) -> PlanList:
    """Needs ``plans.read``."""
    return PlanList(items=[plan_out(plan) for plan in await ks.plans.list(principal)])


@router.get("/{plan_id}", summary="Get a plan", responses=FOUND)
async def get_plan(plan_id: PlanId, ks: Service, principal: Auth) -> PlanOut:
    """Needs ``plans.read``."""
    return plan_out(await ks.plans.get(principal, plan_id))


@router.patch("/{plan_id}", summary="Update a plan", responses={**WITH_BODY, **FOUND, **CONFLICT})
async def update_plan(plan_id: PlanId, body: PlanUpdate, ks: Service, principal: Auth) -> PlanOut:
    """Needs ``plans.write``. Partial: an omitted field is kept, ``null`` clears a limit
    field. Every key on the plan changes at once."""
    return plan_out(await ks.plans.update(principal, plan_id, changes(body)))


@router.delete(
    "/{plan_id}", status_code=204, summary="Delete a plan", responses={**FOUND, **CONFLICT}
)
async def delete_plan(plan_id: PlanId, ks: Service, principal: Auth) -> Response:
    """Needs ``plans.write``. 409 while keys use the plan: move them first."""
    await ks.plans.delete(principal, plan_id)
    return Response(status_code=204)


__all__ = ["router"]
