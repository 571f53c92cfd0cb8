"""Rotation with overlap: a new key that inherits everything of the old one,
which keeps verifying until its grace period ends (0: emergency rotation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from keystead.core import events, keyformat
from keystead.core.authz import Principal
from keystead.core.ids import new_id
from keystead.core.models import CreatedKey, Key, Pickup
from keystead.core.rotation import DEFAULT_GRACE_S, MAX_SPAN_S, effective
from keystead.errors import Conflict, NotFound, ValidationError
from keystead.service import fields
from keystead.service.context import ServiceContext
from keystead.service.keys import KeyService
from keystead.service.tokens.denials import deny_key


@dataclass(slots=True, frozen=True)
class Rotation:
    """The outcome of a rotation. ``new.plaintext`` is shown once, to whoever
    asked; when nobody asked (a policy, an event), it went to a pickup instead."""

    old: Key
    new: CreatedKey
    grace_ends_at: datetime
    pickup_id: str | None = None
    event_data: dict[str, Any] = field(default_factory=dict)


class KeyCustody(Protocol):
    """Holds a key nobody was there to receive: a one-time pickup, and the
    extra (encrypted) data its ``key.rotated`` event carries to the owner."""

    async def seal(
        self, created: CreatedKey, expires_at: datetime
    ) -> tuple[Pickup, dict[str, Any]]: ...


class RotationService:
    def __init__(self, ctx: ServiceContext, keys: KeyService) -> None:
        self._ctx = ctx
        self._keys = keys
        self.custody: KeyCustody | None = None

    async def rotate(
        self,
        principal: Principal,
        key_id: str,
        *,
        grace_period_s: int | None = None,
        old_expires_at: Any = None,
        cause: Mapping[str, Any] | None = None,
        deliver: bool = False,
        allow_revoked: bool = False,
    ) -> Rotation:
        """Issue the successor of ``key_id``. The grace is ``grace_period_s``,
        or until ``old_expires_at``, or the key's policy's, or one day.
        ``deliver`` holds the new key in a pickup for its owner (nobody is
        there to be shown it). Raises ``Conflict`` for a key already rotated."""
        principal.require("keys.rotate")
        old = await self._keys.visible(principal, key_id)
        if old.revoked_at is not None and not allow_revoked:
            raise Conflict("a revoked key cannot be rotated; issue a new key instead")
        if old.rotated_to is not None:
            raise Conflict(f"key '{old.id}' was already rotated to '{old.rotated_to}'")
        now = self._ctx.now()
        grace_end = await self._grace_end(old, now, grace_period_s, old_expires_at)
        created = self._successor(principal, old, now, await self._prefix_of(old))
        old_values: dict[str, Any] = {"updated_at": now}
        if old.expires_at is None or grace_end < old.expires_at:
            old_values["expires_at"] = grace_end
        pickup: Pickup | None = None
        extra: dict[str, Any] = {}
        if deliver:
            if self.custody is None:
                raise Conflict("this node holds no key custody; rotate with a person present")
            pickup, extra = await self.custody.seal(created, max(grace_end, now) + _PICKUP_SLACK)
            extra = {**extra, "pickup_id": pickup.id}
        data = {
            "new_key_id": created.key.id,
            "new_start": created.key.start,
            "grace_ends_at": grace_end.isoformat(),
            "emergency": grace_end <= now,
            "cause": dict(cause) if cause else None,
            **extra,
        }

        def describe(updated_old: Key, _new: Key) -> list[events.Event]:
            return [events.key_event(events.KEY_ROTATED, updated_old, now, **data)]

        await deny_key(self._ctx, old, final=False)  # before the audit entries are pended

        self._ctx.audit(
            principal,
            "key.rotate",
            "key",
            old.id,
            before={"expires_at": old.expires_at, "rotated_to": None},
            after={
                "expires_at": old_values.get("expires_at", old.expires_at),
                "rotated_to": created.key.id,
                "pickup_id": None if pickup is None else pickup.id,
            },
        )
        self._ctx.audit(principal, "key.create", "key", created.key.id, after=created.key)
        updated_old, _ = await self._ctx.store.rotate_key(
            principal.workspace_id,
            old.id,
            old_values,
            created.key,
            self._ctx.hasher.stored(created.plaintext),
            describe,
            pickup,
        )
        self._ctx.key_changed(old.id)
        self._ctx.events_written()
        return Rotation(
            updated_old, created, grace_end, None if pickup is None else pickup.id, data
        )

    async def _grace_end(
        self, old: Key, now: datetime, grace_period_s: int | None, old_expires_at: Any
    ) -> datetime:
        if grace_period_s is not None and old_expires_at is not None:
            raise ValidationError("give grace_period_s or old_expires_at, not both")
        if old_expires_at is not None:
            end = fields.timestamp(old_expires_at, "old_expires_at")
            if end is None or end < now:
                raise ValidationError("old_expires_at is in the past", field="old_expires_at")
            return end
        if grace_period_s is None:
            api = await self._ctx.store.get_api(old.workspace_id, old.api_id)
            policy = effective(old, None if api is None else api.rotation_policy)
            grace_period_s = DEFAULT_GRACE_S if policy is None else policy.grace_period_s
        elif (
            isinstance(grace_period_s, bool)
            or not isinstance(grace_period_s, int)
            or not 0 <= grace_period_s <= MAX_SPAN_S
        ):
            raise ValidationError(
                "grace_period_s is a whole number of seconds, 0 or more", field="grace_period_s"
            )
        return now + timedelta(seconds=grace_period_s)

    async def _prefix_of(self, old: Key) -> str:
        """The old key's prefix; an imported key's successor takes its API's when
        the imported text's is not a Keystead prefix."""
        try:
            return keyformat.validate_prefix(old.prefix)
        except ValidationError:
            api = await self._ctx.store.get_api(old.workspace_id, old.api_id)
            if api is None:
                raise NotFound(f"no API '{old.api_id}'") from None
            return api.prefix

    def _successor(self, principal: Principal, old: Key, now: datetime, prefix: str) -> CreatedKey:
        """Same API, owner, name, meta, permissions, roles, restrictions, plan,
        limits and policy; the same lifetime if the old key had one; shared
        limit counters (credits, quotas and rate limits carry over)."""
        plaintext = keyformat.generate(prefix)
        expires_at = None
        if old.expires_at is not None:
            expires_at = now + max(old.expires_at - old.created_at, timedelta(0))
        key = Key(
            id=new_id("key", self._ctx.clock.now()),
            workspace_id=old.workspace_id,
            api_id=old.api_id,
            prefix=prefix,
            start=plaintext[: len(prefix) + 1 + keyformat.START_BODY_CHARS],
            name=old.name,
            owner_id=old.owner_id,
            meta=dict(old.meta),
            permissions=old.permissions,
            roles=old.roles,
            enabled=old.enabled,
            environment=old.environment,
            not_before=None,
            expires_at=expires_at,
            restrictions=old.restrictions,
            created_at=now,
            updated_at=now,
            last_used_at=None,
            revoked_at=None,
            created_by=principal.actor,
            limits=dict(old.limits),
            plan_id=old.plan_id,
            rotated_from=old.id,
            rotated_to=None,
            lineage_id=old.counter_id,
            rotation_policy=old.rotation_policy,
        )
        return CreatedKey(key, plaintext)


_PICKUP_SLACK = timedelta(days=7)
"""A pickup outlives the old key's grace by a week, so an owner who missed the
grace can still fetch the successor."""

__all__ = ["KeyCustody", "Rotation", "RotationService"]
