"""Key management: create (one or many), read, list, update, enable, disable,
revoke (irreversible) and delete. Verification lives in ``verifier``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from keystead.core import events, keyformat
from keystead.core.authz import Principal
from keystead.core.ids import looks_like_id, new_id
from keystead.core.models import Api, CreatedKey, Key, KeyState, Page
from keystead.core.rotation import RotationPolicy
from keystead.errors import Conflict, Forbidden, NotFound, ValidationError
from keystead.limits import Credits
from keystead.service import counters, fields, limit_fields
from keystead.service.apis import ApiService
from keystead.service.context import ServiceContext
from keystead.service.counter_changes import CounterChange
from keystead.service.key_counters import read_counters
from keystead.service.key_listing import key_filter
from keystead.service.plans import PlanService
from keystead.service.tokens.denials import deny_key
from keystead.store.base import OwnerCap

MAX_BATCH = 1000
_ACTIONS = {
    events.KEY_ENABLED: "key.enable",
    events.KEY_DISABLED: "key.disable",
    events.KEY_REVOKED: "key.revoke",
}


class KeyService:
    def __init__(self, ctx: ServiceContext, apis: ApiService, plans: PlanService) -> None:
        self._ctx = ctx
        self._apis = apis
        self._plans = plans

    async def create(
        self, principal: Principal, spec: Mapping[str, Any] | None = None, /, **given: Any
    ) -> CreatedKey:
        merged = {**(spec or {}), **given}
        return (await self.create_many(principal, [merged]))[0]

    async def create_many(
        self,
        principal: Principal,
        specs: Sequence[Mapping[str, Any]],
        *,
        owner_cap: int | None = None,
    ) -> list[CreatedKey]:
        """All or nothing: every spec is validated before any key is stored.
        ``owner_cap``: the principal's owner may hold at most this many live keys
        afterwards, checked atomically with the insert (the portal's limit)."""
        principal.require("keys.create")
        if not 1 <= len(specs) <= MAX_BATCH:
            raise ValidationError(f"create 1 to {MAX_BATCH} keys at once", field="keys")
        apis: dict[str, tuple[Api, frozenset[str]]] = {}
        created = []
        for spec in specs:
            if not isinstance(spec, Mapping):
                raise ValidationError("each key is a JSON object", field="keys")
            created.append(await self._build(principal, spec, apis))
        now = self._ctx.now()
        for c in created:
            self._ctx.audit(principal, "key.create", "key", c.key.id, after=c.key)
        cap = None
        if owner_cap is not None:
            if principal.owner_id is None:
                raise Forbidden("an owner's cap applies to a principal narrowed to one owner")
            cap = OwnerCap(principal.workspace_id, principal.owner_id, owner_cap, now)
        await self._ctx.store.insert_keys(
            [(c.key, self._ctx.hasher.stored(c.plaintext)) for c in created],
            [events.key_event(events.KEY_CREATED, c.key, now) for c in created],
            cap,
        )
        self._ctx.events_written()
        return created

    async def get(self, principal: Principal, key_id: str) -> Key:
        principal.require("keys.read")
        return await self.visible(principal, key_id)

    async def list(
        self,
        principal: Principal,
        *,
        api_id: str | None = None,
        owner_id: str | None = None,
        state: KeyState | None = None,
        plan_id: str | None = None,
        environment: str | None = None,
        search: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        """Oldest first. ``search`` matches a name (case-insensitive substring),
        an owner id or a key's ``start`` (prefixes)."""
        principal.require("keys.read")
        if api_id is not None:
            await self._apis.visible(principal, api_id)
        fields.page_cursor("key", cursor)
        fields.page_size(limit)
        where = key_filter(
            principal,
            api_id=api_id,
            owner_id=owner_id,
            state=state,
            plan_id=plan_id,
            environment=environment,
            search=search,
        )
        if where is None:
            return Page(items=[], next_cursor=None)
        found = await self._ctx.store.list_keys(
            principal.workspace_id, where, after=cursor, limit=limit + 1, now=self._ctx.now()
        )
        more = len(found) > limit
        items = found[:limit]
        return Page(items=items, next_cursor=items[-1].id if more else None)

    async def update(self, principal: Principal, key_id: str, changes: Mapping[str, Any]) -> Key:
        """Partial update: an omitted field is kept, ``None`` clears it."""
        principal.require("keys.update")
        if not isinstance(changes, Mapping):
            raise ValidationError("the changes are a JSON object")
        fields.unknown(changes, fields.UPDATE_FIELDS, "key")
        current = await self.visible(principal, key_id)
        values: dict[str, Any] = {}
        limit_changes = {k: v for k, v in changes.items() if k in limit_fields.LIMIT_FIELDS}
        reset_quota = changes.get("reset_quota", False)
        if not isinstance(reset_quota, bool):
            raise ValidationError("reset_quota is true or false", field="reset_quota")
        for name, value in changes.items():
            if name in limit_fields.LIMIT_FIELDS or name == "reset_quota":
                continue
            if name == "plan_id":
                plan = None if value is None else await self._plans.visible(principal, value)
                values[name] = None if plan is None else plan.id
                continue
            values[name] = _validated(name, value)
        if "owner_id" in values:  # never handed to another owner by an owner's root key
            values["owner_id"] = principal.owner_within(values["owner_id"])
        if limit_changes:
            values["limits"] = limit_fields.updated_set(current.limits, limit_changes) or None
        if "roles" in values:
            await self._check_roles(current.api_id, values["roles"])
        fields.window(
            values["not_before"] if "not_before" in values else current.not_before,
            values["expires_at"] if "expires_at" in values else current.expires_at,
        )
        if values.get("enabled") is True and current.revoked_at is not None:
            raise Conflict("a revoked key cannot be enabled again; revocation is final")
        noted = {"reset_quota": True} if reset_quota else None
        change = await self._counter_change(current, values, limit_changes, reset_quota)
        return await self._write(
            principal, current, values, _update_event(values), noted, change=change
        )

    async def credits(self, principal: Principal, key_id: str) -> int | None:
        """The key's live credit balance (None when it has no credits)."""
        principal.require("keys.read")
        key = await self.visible(principal, key_id)
        spec = await self._credits_spec(key)
        if spec is None:
            return None
        counter = counters.key_prefix(key.workspace_id, key.counter_id) + "c"
        live = await self._ctx.limiter.get_credits(counter, spec, self._ctx.clock.now())
        if live is not None:
            return live
        seeded = await self._ctx.store.get_credits_remaining(key.id)
        return spec.remaining if seeded is None else seeded

    async def counters(self, principal: Principal, key_id: str) -> dict[str, Any]:
        """The key's limit counters now, read without spending (``read_counters``)."""
        principal.require("keys.read")
        return await read_counters(self._ctx, await self.visible(principal, key_id))

    async def _credits_spec(self, key: Key) -> Credits | None:
        return (await self._effective(key)).credits

    async def _effective(self, key: Key) -> limit_fields.CompiledLimits:
        plan = None
        if key.plan_id is not None:
            plan = await self._ctx.store.get_plan(key.workspace_id, key.plan_id)
        return limit_fields.effective(None if plan is None else plan.limits, key.limits)

    async def _counter_change(
        self,
        current: Key,
        values: Mapping[str, Any],
        limit_changes: Mapping[str, Any],
        reset_quota: bool,
    ) -> CounterChange:
        """Credits given in an update set the live balance; a quota counter is
        kept across updates unless ``reset_quota`` asks otherwise."""
        prefix = counters.key_prefix(current.workspace_id, current.counter_id)
        change = CounterChange(self._ctx.limiter, self._ctx.clock.now(), prefix + "c")
        if limit_changes.get("credits") is not None:
            change.credits = int(values["limits"]["credits"]["remaining"])
        if reset_quota:
            change.quota_counter = prefix + "q"
            change.quota = (await self._effective(current)).quota
        return change

    async def enable(self, principal: Principal, key_id: str) -> Key:
        principal.require("keys.update")
        current = await self.visible(principal, key_id)
        if current.revoked_at is not None:
            raise Conflict("a revoked key cannot be enabled again; revocation is final")
        return await self._write(principal, current, {"enabled": True}, events.KEY_ENABLED)

    async def disable(self, principal: Principal, key_id: str) -> Key:
        principal.require("keys.update")
        current = await self.visible(principal, key_id)
        return await self._write(principal, current, {"enabled": False}, events.KEY_DISABLED)

    async def revoke(self, principal: Principal, key_id: str) -> Key:
        principal.require("keys.revoke")
        current = await self.visible(principal, key_id)
        if current.revoked_at is not None:
            return current
        return await self._write(
            principal, current, {"revoked_at": self._ctx.now()}, events.KEY_REVOKED
        )

    async def delete(self, principal: Principal, key_id: str) -> None:
        principal.require("keys.delete")
        current = await self.visible(principal, key_id)
        deleted = events.key_event(events.KEY_DELETED, current, self._ctx.now())
        await deny_key(self._ctx, current, final=True)  # before the audit entry is pended
        self._ctx.audit(principal, "key.delete", "key", current.id, before=current)
        await self._ctx.store.delete_key(principal.workspace_id, current.id, [deleted])
        self._ctx.key_changed(current.id)
        self._ctx.events_written()

    async def _write(
        self,
        principal: Principal,
        current: Key,
        values: dict[str, Any],
        event_type: str,
        noted: Mapping[str, Any] | None = None,
        *,
        change: CounterChange | None = None,
    ) -> Key:
        """Store ``values``; ``noted`` adds what the audit entry should show
        beyond the stored fields (a quota counter reset). ``change``, the
        limiter's share, is applied inside the transaction and undone if the
        transaction fails: all or nothing (docs/limits.md)."""
        now = self._ctx.now()
        values["updated_at"] = now
        for name in ("permissions", "roles"):
            if name in values:
                values[name] = list(values[name])
        changed = sorted(name for name in values if name != "updated_at")

        def describe(updated: Key) -> list[events.Event]:
            extra = {"changed": changed} if event_type == events.KEY_UPDATED else {}
            return [events.key_event(event_type, updated, now, **extra)]

        if "revoked_at" in values or values.get("enabled") is False:
            await deny_key(self._ctx, current, final="revoked_at" in values)
        before = {name: getattr(current, name, None) for name in values}
        action = _ACTIONS.get(event_type, "key.update")
        after = {**values, **(noted or {})}
        self._ctx.audit(principal, action, "key", current.id, before=before, after=after)
        stored, before_commit = values, None
        if change:
            before_commit = change.apply
            if change.credits is not None:  # the mirror, not shown in the audit entry
                stored = {**values, "credits_remaining": change.credits}
        try:
            updated = await self._ctx.store.update_key(
                principal.workspace_id, current.id, stored, describe, before_commit
            )
        except BaseException:
            if change:
                await change.undo()  # the store kept nothing: neither may the limiter
            raise
        self._ctx.key_changed(current.id)
        if updated is None:
            raise NotFound(f"no key '{current.id}'")
        self._ctx.events_written()
        return updated

    async def visible(self, principal: Principal, key_id: str) -> Key:
        key = None
        if isinstance(key_id, str) and looks_like_id("key", key_id):
            key = await self._ctx.store.get_key(principal.workspace_id, key_id)
        if (
            key is None
            or not principal.sees_api(key.api_id)
            or not principal.sees_owner(key.owner_id)
        ):
            raise NotFound(f"no key '{key_id}'")
        return key

    async def _check_roles(self, api_id: str, names: Sequence[str]) -> None:
        if not names:
            return
        known = {r.name for r in await self._ctx.store.list_roles(api_id)}
        for index, name in enumerate(names):
            if name not in known:
                raise ValidationError(f"no role '{name}' in this API", field=f"roles[{index}]")

    async def _build(
        self,
        principal: Principal,
        spec: Mapping[str, Any],
        apis: dict[str, tuple[Api, frozenset[str]]],
    ) -> CreatedKey:
        fields.unknown(spec, fields.CREATE_FIELDS, "key")
        api_id = spec.get("api_id")
        if not isinstance(api_id, str):
            raise ValidationError("api_id is required", field="api_id")
        if api_id not in apis:
            api = await self._apis.visible(principal, api_id)
            known = frozenset(r.name for r in await self._ctx.store.list_roles(api.id))
            apis[api_id] = (api, known)
        api, known_roles = apis[api_id]
        defaults = api.key_defaults

        def pick(name: str) -> Any:
            return spec[name] if name in spec else defaults.get(name)

        now = self._ctx.now()
        expires_at = fields.timestamp(spec.get("expires_at"), "expires_at")
        if "expires_at" not in spec and "expires_in_s" in defaults:
            expires_at = now + timedelta(seconds=int(defaults["expires_in_s"]))
        not_before = fields.timestamp(spec.get("not_before"), "not_before")
        fields.window(not_before, expires_at)
        roles = fields.roles(pick("roles"))
        for index, name in enumerate(roles):
            if name not in known_roles:
                raise ValidationError(f"no role '{name}' in this API", field=f"roles[{index}]")
        environment = fields.environment(pick("environment"))
        prefix = api.prefix if environment is None else f"{api.prefix}_{environment}"
        if len(prefix) > keyformat.MAX_PREFIX_LENGTH:
            raise ValidationError(
                "the API prefix and environment together exceed 32 characters",
                field="environment",
            )
        enabled = pick("enabled")
        plan_id = spec.get("plan_id")
        if plan_id is not None:
            plan_id = (await self._plans.visible(principal, plan_id)).id
        plaintext = keyformat.generate(prefix)
        key = Key(
            id=new_id("key", self._ctx.clock.now()),
            workspace_id=principal.workspace_id,
            api_id=api.id,
            prefix=prefix,
            start=plaintext[: len(prefix) + 1 + keyformat.START_BODY_CHARS],
            name=fields.text(spec.get("name"), "name"),
            owner_id=principal.owner_within(fields.text(spec.get("owner_id"), "owner_id")),
            meta=fields.meta(pick("meta")),
            permissions=fields.permissions(pick("permissions")),
            roles=roles,
            enabled=True if enabled is None else fields.enabled(enabled),
            environment=environment,
            not_before=not_before,
            expires_at=expires_at,
            restrictions=fields.restrictions(pick("restrictions")),
            created_at=now,
            updated_at=now,
            last_used_at=None,
            revoked_at=None,
            created_by=principal.actor,
            limits=limit_fields.limit_set(spec),
            plan_id=plan_id,
            rotation_policy=_policy(spec.get("rotation_policy")),
        )
        return CreatedKey(key, plaintext)


def _update_event(values: Mapping[str, Any]) -> str:
    """An update that only switches ``enabled`` reads as enable or disable."""
    if set(values) == {"enabled"}:
        return events.KEY_ENABLED if values["enabled"] else events.KEY_DISABLED
    return events.KEY_UPDATED


def _policy(value: Any) -> dict[str, Any] | None:
    return None if value is None else RotationPolicy.parse(value).to_dict()


def _validated(name: str, value: Any) -> Any:
    if name in ("name", "owner_id"):
        return fields.text(value, name)
    if name == "meta":
        return fields.meta(value)
    if name == "permissions":
        return fields.permissions(value)
    if name == "roles":
        return fields.roles(value)
    if name in ("not_before", "expires_at"):
        return fields.timestamp(value, name)
    if name == "restrictions":
        return fields.restrictions(value)
    if name == "rotation_policy":
        return _policy(value)
    return fields.enabled(value)
