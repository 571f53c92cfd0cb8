"""Event-triggered actions: the one door any event source (a monitoring alert, a
leak report, an operator) uses to act on a key.

``apply(principal, key_id, action, cause)`` with action ``disable``,
``rotate`` (grace from ``grace_period_s`` or the key's policy),
``emergency_rotate`` (grace 0: the old key dies at once) or ``revoke``. Each
call is recorded in ``ks_key_actions`` with its cause, actor and result, and
the key events it writes carry the cause. A rotation here has nobody present to
be shown the new key, so it goes to a pickup (or a JWE for the owner).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keystead.core import events
from keystead.core.authz import Principal
from keystead.core.ids import new_id
from keystead.core.models import Key, Page
from keystead.errors import Conflict, NotFound, ValidationError
from keystead.service.context import ServiceContext
from keystead.service.fields import page_cursor, page_size
from keystead.service.keys import KeyService
from keystead.service.rotation import RotationService
from keystead.service.tokens.denials import deny_key
from keystead.store.custody import KeyAction

ACTION_PERMISSIONS: dict[str, str] = {
    "disable": "keys.update",
    "rotate": "keys.rotate",
    "emergency_rotate": "keys.rotate",
    "revoke": "keys.revoke",
}
"""Each action and the permission it needs: the one its plain route needs."""
ACTIONS = tuple(ACTION_PERMISSIONS)
_SOURCE_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
_CAUSE_FIELDS = frozenset({"source", "reason", "reference"})
MAX_REASON = 1000
MAX_REFERENCE = 500


@dataclass(slots=True, frozen=True)
class ActionResult:
    """The recorded action and the key after it (the old key, for rotations:
    its successor is ``record.result["new_key_id"]``, held in a pickup)."""

    record: KeyAction
    key: Key


def cause_of(value: object, field: str = "cause") -> dict[str, Any]:
    """``{source, reason, reference?}``: where the trigger came from, why, and
    the source's own id of it (an alert id, a report URL)."""
    if not isinstance(value, Mapping):
        raise ValidationError("cause is an object: {source, reason, reference?}", field=field)
    for name in value:
        if name not in _CAUSE_FIELDS:
            raise ValidationError(f"unexpected cause field '{name}'", field=f"{field}.{name}")
    source = value.get("source")
    if not isinstance(source, str) or _SOURCE_RE.fullmatch(source) is None:
        raise ValidationError(
            "source is 1 to 64 of A-Z a-z 0-9 _ . : - (e.g. alert, leak_report, operator)",
            field=f"{field}.source",
        )
    reason = _text(value.get("reason"), MAX_REASON, f"{field}.reason")
    if reason is None:
        raise ValidationError("reason is required", field=f"{field}.reason")
    reference = _text(value.get("reference"), MAX_REFERENCE, f"{field}.reference")
    return {"source": source, "reason": reason, "reference": reference}


def _text(value: object, limit: int, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= limit or "\x00" in value:
        raise ValidationError(
            f"{field.rsplit('.', 1)[-1]} is text of 1 to {limit} characters, no NUL",
            field=field,
        )
    return value


class LifecycleActions:
    def __init__(self, ctx: ServiceContext, keys: KeyService, rotation: RotationService) -> None:
        self._ctx = ctx
        self._keys = keys
        self._rotation = rotation

    async def apply(
        self,
        principal: Principal,
        key_id: str,
        action: str,
        cause: Mapping[str, Any],
        *,
        grace_period_s: int | None = None,
    ) -> ActionResult:
        if not isinstance(action, str) or action not in ACTION_PERMISSIONS:
            raise ValidationError(f"action is one of {', '.join(ACTIONS)}", field="action")
        principal.require(ACTION_PERMISSIONS[action])
        checked = cause_of(cause)
        if grace_period_s is not None and action != "rotate":
            raise ValidationError(
                "grace_period_s goes with the rotate action only", field="grace_period_s"
            )
        key = await self._keys.visible(principal, key_id)
        action_id = new_id("act", self._ctx.clock.now())
        try:
            if action in ("rotate", "emergency_rotate"):
                return await self._rotate(
                    principal, key, action, checked, action_id, grace_period_s
                )
            return await self._change(principal, key, action, checked, action_id)
        except Conflict as exc:
            # refused by the key's state (rotated already, revoked): the trigger is
            # still worth a record, so an alert that came too late is not lost
            result = {"error": "conflict", "detail": exc.detail}
            record = self._record(principal, key.id, action, checked, action_id, result)
            await self._ctx.store.insert_key_action(record)
            raise

    async def list(
        self, principal: Principal, key_id: str, *, cursor: str | None = None, limit: int = 100
    ) -> Page:
        """The actions recorded for a key, oldest first."""
        principal.require("keys.read")
        after = page_cursor("act", cursor)
        page_size(limit)
        key = await self._keys.visible(principal, key_id)
        found = await self._ctx.store.list_key_actions(
            principal.workspace_id, key.id, after=after, limit=limit + 1
        )
        items = found[:limit]
        return Page(items=items, next_cursor=items[-1].id if len(found) > limit else None)

    async def _change(
        self,
        principal: Principal,
        key: Key,
        action: str,
        cause: dict[str, Any],
        action_id: str,
    ) -> ActionResult:
        """Disable or revoke, the event and the record in one transaction. A key
        already in that state is left alone (no event); the call is recorded."""
        now = self._ctx.now()
        values: dict[str, Any] = {}
        if action == "disable":
            event_type = events.KEY_DISABLED
            if key.enabled:
                values["enabled"] = False
        else:
            event_type = events.KEY_REVOKED
            if key.revoked_at is None:
                values["revoked_at"] = now
        if values:
            values["updated_at"] = now
        tagged = {**cause, "action_id": action_id}

        def describe(updated: Key) -> list[events.Event]:
            if not values:
                return []
            return [events.key_event(event_type, updated, now, cause=tagged)]

        recorded: list[KeyAction] = []
        if values:  # before the audit entry is pended: its read may fail
            await deny_key(self._ctx, key, final=action != "disable")

        def record(updated: Key) -> KeyAction:
            result = {"changed": bool(values), "state": updated.state_at(now.timestamp())}
            recorded.append(self._record(principal, updated.id, action, cause, action_id, result))
            return recorded[0]

        self._ctx.audit(
            principal,
            f"key.{action}",
            "key",
            key.id,
            before={name: getattr(key, name, None) for name in values},
            after=values,
        )
        updated = await self._ctx.store.act_on_key(
            principal.workspace_id, key.id, values, describe, record
        )
        self._ctx.key_changed(key.id)
        if updated is None or not recorded:
            raise NotFound(f"no key '{key.id}'")
        if values:
            self._ctx.events_written()
        return ActionResult(recorded[0], updated)

    async def _rotate(
        self,
        principal: Principal,
        key: Key,
        action: str,
        cause: dict[str, Any],
        action_id: str,
        grace_period_s: int | None,
    ) -> ActionResult:
        """Rotate with the new key held for its owner. The rotation and its
        event are one transaction; the record follows it."""
        rotation = await self._rotation.rotate(
            principal,
            key.id,
            grace_period_s=0 if action == "emergency_rotate" else grace_period_s,
            cause={**cause, "action_id": action_id},
            deliver=True,
        )
        result = {
            "new_key_id": rotation.new.key.id,
            "new_start": rotation.new.key.start,
            "pickup_id": rotation.pickup_id,
            "pickup_format": rotation.event_data.get("pickup_format"),
            "grace_ends_at": rotation.grace_ends_at.isoformat(),
        }
        record = self._record(principal, key.id, action, cause, action_id, result)
        await self._ctx.store.insert_key_action(record)
        return ActionResult(record, rotation.old)

    def _record(
        self,
        principal: Principal,
        key_id: str,
        action: str,
        cause: dict[str, Any],
        action_id: str,
        result: dict[str, Any],
    ) -> KeyAction:
        return KeyAction(
            id=action_id,
            workspace_id=principal.workspace_id,
            key_id=key_id,
            action=action,
            cause=cause,
            actor=principal.actor,
            result=result,
            created_at=self._ctx.now(),
        )


__all__ = ["ACTIONS", "ACTION_PERMISSIONS", "ActionResult", "LifecycleActions", "cause_of"]
