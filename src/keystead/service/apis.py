"""APIs (a product's key space) and their roles (named permission sets)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from keystead.core import keyformat
from keystead.core.authz import Principal
from keystead.core.ids import new_id
from keystead.core.models import Api, Role
from keystead.core.rotation import RotationPolicy
from keystead.errors import Conflict, Forbidden, NotFound, ValidationError
from keystead.service import fields, limit_fields
from keystead.service.context import ServiceContext

DEFAULT_PREFIX = "ks"


class ApiService:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    async def create(
        self,
        principal: Principal,
        *,
        name: str,
        prefix: str | None = None,
        key_defaults: Mapping[str, Any] | None = None,
        limits: Mapping[str, Any] | None = None,
        rotation_policy: Mapping[str, Any] | None = None,
    ) -> Api:
        principal.require("apis.create")
        if principal.api_ids is not None:
            raise ValidationError("a root key narrowed to some APIs cannot create APIs")
        checked_name = fields.required_text(name, "name")
        checked_prefix = keyformat.validate_prefix(DEFAULT_PREFIX if prefix is None else prefix)
        if checked_prefix.startswith("ksroot"):
            raise ValidationError("the prefix 'ksroot' is reserved for root keys", field="prefix")
        now = self._ctx.now()
        api = Api(
            id=new_id("api", self._ctx.clock.now()),
            workspace_id=principal.workspace_id,
            name=checked_name,
            prefix=checked_prefix,
            key_defaults=fields.key_defaults(key_defaults),
            created_at=now,
            updated_at=now,
            limits=limit_fields.api_limits(limits),
            rotation_policy=_policy(rotation_policy),
        )
        self._ctx.audit(principal, "api.create", "api", api.id, after=api)
        try:
            await self._ctx.store.insert_api(api)
        except Conflict:
            raise Conflict(f"an API named '{checked_name}' already exists") from None
        return api

    async def list(self, principal: Principal) -> list[Api]:
        principal.require("apis.read")
        return [
            a
            for a in await self._ctx.store.list_apis(principal.workspace_id)
            if principal.sees_api(a.id)
        ]

    async def get(self, principal: Principal, api_id: str) -> Api:
        principal.require("apis.read")
        return await self.visible(principal, api_id)

    async def update(self, principal: Principal, api_id: str, changes: Mapping[str, Any]) -> Api:
        """Change an API's name, key defaults or limit settings (partial)."""
        principal.require("apis.update")
        if not isinstance(changes, Mapping):
            raise ValidationError("the changes are a JSON object")
        fields.unknown(
            changes, frozenset({"name", "key_defaults", "limits", "rotation_policy"}), "API"
        )
        api = await self._changeable(principal, api_id)
        values: dict[str, Any] = {"updated_at": self._ctx.now()}
        if "name" in changes:
            values["name"] = fields.required_text(changes["name"], "name")
        if "key_defaults" in changes:
            values["key_defaults"] = fields.key_defaults(changes["key_defaults"])
        if "limits" in changes:
            values["limits"] = limit_fields.api_limits(changes["limits"]) or None
        if "rotation_policy" in changes:
            values["rotation_policy"] = _policy(changes["rotation_policy"])
        before = {name: getattr(api, name, None) for name in values}
        self._ctx.audit(principal, "api.update", "api", api.id, before=before, after=values)
        try:
            updated = await self._ctx.store.update_api(principal.workspace_id, api.id, values)
        except Conflict:
            raise Conflict(f"an API named '{values.get('name')}' already exists") from None
        if updated is None:
            raise NotFound(f"no API '{api_id}'")
        self._ctx.api_keys_changed(api.id)
        return updated

    async def delete(self, principal: Principal, api_id: str) -> None:
        principal.require("apis.delete")
        api = await self._changeable(principal, api_id)
        if await self._ctx.store.count_keys(api.id):
            raise Conflict("this API still has keys; delete or revoke them first")
        self._ctx.audit(principal, "api.delete", "api", api.id, before=api)
        await self._ctx.store.delete_api(principal.workspace_id, api.id)
        self._ctx.api_keys_changed(api.id)

    async def put_role(
        self,
        principal: Principal,
        api_id: str,
        name: str,
        permissions: Sequence[str],
        description: str | None = None,
    ) -> Role:
        principal.require("roles.write")
        api = await self._changeable(principal, api_id)
        role_name = fields.roles([name])[0]
        if description is not None and (
            not isinstance(description, str) or len(description) > fields.MAX_DESCRIPTION
        ):
            raise ValidationError(
                f"a description is at most {fields.MAX_DESCRIPTION} characters", field="description"
            )
        now = self._ctx.now()
        new_role = Role(
            api_id=api.id,
            name=role_name,
            permissions=fields.permissions(list(permissions)),
            description=description,
            created_at=now,
            updated_at=now,
        )
        old = next(
            (r for r in await self._ctx.store.list_roles(api.id) if r.name == role_name), None
        )
        after = new_role if old is None else replace(new_role, created_at=old.created_at)
        self._ctx.audit(
            principal, "role.put", "role", f"{api.id}/{role_name}", before=old, after=after
        )
        role = await self._ctx.store.put_role(new_role)
        self._ctx.api_keys_changed(api.id)
        return role

    async def list_roles(self, principal: Principal, api_id: str) -> builtins.list[Role]:
        principal.require("roles.read")
        api = await self.visible(principal, api_id)
        return await self._ctx.store.list_roles(api.id)

    async def delete_role(self, principal: Principal, api_id: str, name: str) -> None:
        principal.require("roles.write")
        api = await self._changeable(principal, api_id)
        old = next((r for r in await self._ctx.store.list_roles(api.id) if r.name == name), None)
        if old is None:
            raise NotFound(f"no role '{name}' in this API")
        self._ctx.audit(principal, "role.delete", "role", f"{api.id}/{name}", before=old)
        if not await self._ctx.store.delete_role(api.id, name):
            raise NotFound(f"no role '{name}' in this API")
        self._ctx.api_keys_changed(api.id)

    async def _changeable(self, principal: Principal, api_id: str) -> Api:
        """The API, when the principal may change it: its settings and roles
        apply to every owner's keys, so an owner-narrowed root key cannot."""
        api = await self.visible(principal, api_id)
        if principal.owner_id is not None:
            raise Forbidden(
                "an API's settings and roles apply to every owner's keys: a root key "
                "narrowed to one owner cannot change them"
            )
        return api

    async def visible(self, principal: Principal, api_id: str) -> Api:
        """The API when the principal may see it; NotFound otherwise."""
        api = None
        if isinstance(api_id, str) and principal.sees_api(api_id):
            api = await self._ctx.store.get_api(principal.workspace_id, api_id)
        if api is None:
            raise NotFound(f"no API '{api_id}'")
        return api


def _policy(value: Any) -> dict[str, Any] | None:
    return None if value is None else RotationPolicy.parse(value).to_dict()
