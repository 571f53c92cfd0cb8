"""Plans (tiers): named bundles of limits that keys reference. Changing a plan
changes every key on it at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from keystead.core.authz import Principal
from keystead.core.ids import looks_like_id, new_id
from keystead.core.models import Plan
from keystead.errors import Conflict, NotFound, ValidationError
from keystead.service import fields, limit_fields
from keystead.service.context import ServiceContext

_PLAN_CHANGES = frozenset({"name", "priority", *limit_fields.LIMIT_FIELDS})


_WORKSPACE_WIDE = (
    "plans apply to keys of every API and owner: a root key narrowed to APIs or an owner "
    "cannot change them"
)


class PlanService:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def create(
        self,
        principal: Principal,
        *,
        name: str,
        ratelimits: Sequence[Mapping[str, Any]] | None = (),
        quota: Mapping[str, Any] | None = None,
        credits: Mapping[str, Any] | None = None,
        concurrency: Mapping[str, Any] | None = None,
        priority: int = 0,
    ) -> Plan:
        principal.require_whole_workspace("plans.write", _WORKSPACE_WIDE)
        checked = fields.required_text(name, "name")
        limits = limit_fields.from_arguments(ratelimits, quota, credits, concurrency)
        now = self._ctx.now()
        plan = Plan(
            id=new_id("plan", self._ctx.clock.now()),
            workspace_id=principal.workspace_id,
            name=checked,
            limits=limits,
            priority=limit_fields.priority(priority),
            created_at=now,
            updated_at=now,
        )
        self._ctx.audit(principal, "plan.create", "plan", plan.id, after=plan)
        try:
            await self._ctx.store.insert_plan(plan)
        except Conflict:
            raise Conflict(f"a plan named '{checked}' already exists") from None
        return plan

    async def list(self, principal: Principal) -> list[Plan]:
        principal.require("plans.read")
        return await self._ctx.store.list_plans(principal.workspace_id)

    async def get(self, principal: Principal, plan_id: str) -> Plan:
        principal.require("plans.read")
        return await self.visible(principal, plan_id)

    async def update(self, principal: Principal, plan_id: str, changes: Mapping[str, Any]) -> Plan:
        principal.require_whole_workspace("plans.write", _WORKSPACE_WIDE)
        if not isinstance(changes, Mapping):
            raise ValidationError("the changes are a JSON object")
        fields.unknown(changes, _PLAN_CHANGES, "plan")
        current = await self.visible(principal, plan_id)
        values: dict[str, Any] = {"updated_at": self._ctx.now()}
        if "name" in changes:
            values["name"] = fields.required_text(changes["name"], "name")
        if "priority" in changes:
            values["priority"] = limit_fields.priority(changes["priority"])
        if any(f in changes for f in limit_fields.LIMIT_FIELDS):
            values["limits"] = limit_fields.updated_set(current.limits, changes)
        before = {name: getattr(current, name, None) for name in values}
        self._ctx.audit(principal, "plan.update", "plan", current.id, before=before, after=values)
        try:
            updated = await self._ctx.store.update_plan(principal.workspace_id, plan_id, values)
        except Conflict:
            raise Conflict(f"a plan named '{values.get('name')}' already exists") from None
        if updated is None:
            raise NotFound(f"no plan '{plan_id}'")
        self._ctx.plan_changed(plan_id)
        return updated

    async def delete(self, principal: Principal, plan_id: str) -> None:
        principal.require_whole_workspace("plans.write", _WORKSPACE_WIDE)
        plan = await self.visible(principal, plan_id)
        if await self._ctx.store.count_plan_keys(plan.id):
            raise Conflict("keys still use this plan; move them to another plan first")
        self._ctx.audit(principal, "plan.delete", "plan", plan.id, before=plan)
        await self._ctx.store.delete_plan(principal.workspace_id, plan.id)

    async def visible(self, principal: Principal, plan_id: str) -> Plan:
        plan = None
        if isinstance(plan_id, str) and looks_like_id("plan", plan_id):
            plan = await self._ctx.store.get_plan(principal.workspace_id, plan_id)
        if plan is None:
            raise NotFound(f"no plan '{plan_id}'")
        return plan
