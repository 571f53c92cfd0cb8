"""The compromise procedure, in one step, and the incidents it opens.

``compromise(principal, key_id)``: (1) revoke the key now (a revoked key stays
revoked); (2) with ``replace``, issue its successor at once (an emergency
rotation of the revoked key), shown once to the person who called; (3) with
``notify``, a ``key.compromised`` event, written in the same transaction as
(4) the incident record, which holds the evidence known so far. Revocation
comes first and does not wait for the evidence to be gathered.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keystead.core import events
from keystead.core.authz import Principal
from keystead.core.ids import looks_like_id, new_id
from keystead.core.models import CreatedKey, Key, Page
from keystead.errors import Conflict, NotFound, ValidationError
from keystead.service.context import ServiceContext
from keystead.service.fields import page_cursor, page_size
from keystead.service.key_counters import read_counters
from keystead.service.keys import KeyService
from keystead.service.pickups import scope_of
from keystead.service.rotation import RotationService
from keystead.service.tokens.denials import deny_key
from keystead.store.custody import Incident, KeyAction

STATUSES = ("open", "investigating", "resolved")
RESPONSES = ("revoke", "rotate", "notify")
EvidenceHook = Callable[[Key], Awaitable[Mapping[str, Any]]]
"""Adds to an incident's evidence, given the key after the response."""
MAX_REASON = 1000
MAX_NOTES = 10_000
MAX_CHAIN = 20
USAGE_NOTE = "per-request usage records arrive with the monitoring capability"
ATTEMPTS_NOTE = (
    "failed verifications are counted per client IP, not per key: "
    "see GET /v1/limits/failed_attempts?ip=..."
)


@dataclass(slots=True, frozen=True)
class Compromise:
    """What the procedure did. ``replacement`` carries the new key's plaintext:
    the one time it is shown."""

    incident: Incident
    key: Key
    already_revoked: bool
    replacement: CreatedKey | None
    notified: bool


class IncidentService:
    def __init__(self, ctx: ServiceContext, keys: KeyService, rotation: RotationService) -> None:
        self._ctx = ctx
        self._keys = keys
        self._rotation = rotation

    async def compromise(
        self,
        principal: Principal,
        key_id: str,
        *,
        replace: bool = False,
        reason: str | None = None,
        notify: bool = True,
        response: str = "revoke",
        grace_period_s: int | None = None,
        deliver: bool = False,
        cause: Mapping[str, Any] | None = None,
        evidence: EvidenceHook | None = None,
    ) -> Compromise:
        """Needs ``keys.revoke`` and ``incidents.write``; ``replace`` also needs
        ``keys.create`` and ``keys.rotate`` (the replacement is a rotation). All
        are checked before anything changes.

        A leak report comes through here too: ``response`` ``rotate`` (with
        ``grace_period_s``, keys.rotate instead of keys.revoke) or ``notify``
        (the key is left alone) in place of revoking; ``deliver`` holds a new
        key in a pickup for its owner (nobody is there to be shown it);
        ``cause`` adds to the incident's cause and ``evidence(key)`` to its
        evidence (the leak's URL, type and time, the exposure found)."""
        if response not in RESPONSES:
            raise ValidationError(f"response is one of {', '.join(RESPONSES)}", field="response")
        principal.require("incidents.write")
        if response == "revoke":
            principal.require("keys.revoke")
        elif response == "rotate":
            replace = False  # the rotation is the replacement
            principal.require("keys.create")
            principal.require("keys.rotate")
        if not isinstance(replace, bool):
            raise ValidationError("replace is true or false", field="replace")
        if not isinstance(notify, bool):
            raise ValidationError("notify is true or false", field="notify")
        if replace:
            principal.require("keys.create")
            principal.require("keys.rotate")
        reason = _text(reason, "reason", MAX_REASON)
        key = await self._keys.visible(principal, key_id)
        if replace and key.rotated_to is not None:
            raise Conflict(
                f"key '{key.id}' was rotated to '{key.rotated_to}' already: report that "
                "key compromised too, or report this one without replace"
            )
        incident_id = new_id("inc", self._ctx.clock.now())
        told = dict(cause or {})
        cause = {"source": "compromise", "reason": reason, "reference": incident_id, **told}
        if response == "revoke":
            revoked, already = await self._revoke(principal, key, cause)
        else:
            revoked, already = key, key.revoked_at is not None
        replacement, failure = None, None
        if replace or response == "rotate":
            try:
                rotation = await self._rotation.rotate(
                    principal,
                    key.id,
                    grace_period_s=0 if replace else grace_period_s,
                    allow_revoked=replace,
                    cause=cause,
                    deliver=deliver,
                )
            except Conflict as exc:  # rotated meanwhile: the key is revoked all the same
                failure = exc.detail
            else:
                revoked, replacement = rotation.old, rotation.new
        new_id_ = None if replacement is None else replacement.key.id
        found = await self._evidence(principal, revoked)
        if evidence is not None:
            found.update(await evidence(revoked))
        if failure is not None:
            found["replacement_error"] = failure
        now = self._ctx.now()
        incident = Incident(
            id=incident_id,
            workspace_id=principal.workspace_id,
            key_id=key.id,
            status="open",
            cause=cause,
            replacement_key_id=new_id_,
            evidence=found,
            notes=None,
            created_at=now,
            updated_at=now,
            created_by=principal.actor,
        )
        notices = []
        if notify:
            notices.append(
                events.key_event(
                    events.KEY_COMPROMISED,
                    revoked,
                    now,
                    reason=reason,
                    incident_id=incident_id,
                    replacement_key_id=new_id_,
                    **({"cause": cause} if told else {}),
                )
            )
        record = KeyAction(
            id=new_id("act", self._ctx.clock.now()),
            workspace_id=principal.workspace_id,
            key_id=key.id,
            action="compromise" if response == "revoke" else f"compromise_{response}",
            cause=cause,
            actor=principal.actor,
            result={
                "incident_id": incident_id,
                "already_revoked": already,
                "replacement_key_id": new_id_,
                "notified": notify,
            },
            created_at=now,
        )
        self._ctx.audit(
            principal,
            "incident.create",
            "incident",
            incident.id,
            after={"key_id": key.id, "status": "open", "replacement_key_id": new_id_},
        )
        await self._ctx.store.insert_incident(incident, notices, record)
        if notices:
            self._ctx.events_written()
        return Compromise(incident, revoked, already, replacement, notify)

    async def get(self, principal: Principal, incident_id: str) -> Incident:
        principal.require("incidents.read")
        return await self._visible(principal, incident_id)

    async def list(
        self,
        principal: Principal,
        *,
        status: str | None = None,
        key_id: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        """Oldest first; a narrowed root key sees incidents of the keys it sees."""
        principal.require("incidents.read")
        if status is not None and status not in STATUSES:
            raise ValidationError(f"status is one of {', '.join(STATUSES)}", field="status")
        if key_id is not None and (not isinstance(key_id, str) or len(key_id) > 40):
            raise ValidationError("key_id is a key id (key_...)", field="key_id")
        after = page_cursor("inc", cursor)
        page_size(limit)
        found = await self._ctx.store.list_incidents(
            principal.workspace_id,
            scope_of(principal),
            status=status,
            key_id=key_id,
            after=after,
            limit=limit + 1,
        )
        items = found[:limit]
        return Page(items=items, next_cursor=items[-1].id if len(found) > limit else None)

    async def update(
        self, principal: Principal, incident_id: str, changes: Mapping[str, Any]
    ) -> Incident:
        """``status`` (open, investigating, resolved) and ``notes`` (None clears)."""
        principal.require("incidents.write")
        if not isinstance(changes, Mapping):
            raise ValidationError("the changes are a JSON object")
        unknown = sorted(set(changes) - {"status", "notes"})
        if unknown:
            raise ValidationError(f"unknown incident field '{unknown[0]}'", field=unknown[0])
        values: dict[str, Any] = {}
        if "status" in changes:
            if changes["status"] not in STATUSES:
                raise ValidationError(f"status is one of {', '.join(STATUSES)}", field="status")
            values["status"] = changes["status"]
        if "notes" in changes:
            values["notes"] = _text(changes["notes"], "notes", MAX_NOTES)
        current = await self._visible(principal, incident_id)
        if not values:
            return current
        values["updated_at"] = self._ctx.now()
        before = {name: getattr(current, name, None) for name in values}
        self._ctx.audit(
            principal, "incident.update", "incident", current.id, before=before, after=values
        )
        updated = await self._ctx.store.update_incident(principal.workspace_id, current.id, values)
        if updated is None:
            raise NotFound(f"no incident '{incident_id}'")
        return updated

    async def _revoke(
        self, principal: Principal, key: Key, cause: dict[str, Any]
    ) -> tuple[Key, bool]:
        if key.revoked_at is not None:
            return key, True
        now = self._ctx.now()

        def describe(updated: Key) -> builtins.list[events.Event]:
            return [events.key_event(events.KEY_REVOKED, updated, now, cause=cause)]

        values = {"revoked_at": now, "updated_at": now}
        await deny_key(self._ctx, key, final=True)  # before the audit entry is pended
        self._ctx.audit(
            principal, "key.revoke", "key", key.id, before={"revoked_at": None}, after=values
        )
        updated = await self._ctx.store.update_key(principal.workspace_id, key.id, values, describe)
        self._ctx.key_changed(key.id)
        if updated is None:
            raise NotFound(f"no key '{key.id}'")
        self._ctx.events_written()
        return updated, False

    async def _evidence(self, principal: Principal, key: Key) -> dict[str, Any]:
        """What is known of the key so far, as JSON: its summary and rotation
        chain, its limit counters, the actions recorded for it."""
        actions = await self._ctx.store.list_key_actions(
            principal.workspace_id, key.id, after=None, limit=1000
        )
        return {
            "collected_at": self._ctx.now().isoformat(),
            "key": _summary(key),
            "chain": [_link(k) for k in await self._chain(key)],
            "counters": await self._counters(key),
            "failed_attempts": {"note": ATTEMPTS_NOTE},
            "actions": [
                {
                    "id": a.id,
                    "action": a.action,
                    "cause": a.cause,
                    "actor": a.actor,
                    "result": a.result,
                    "created_at": a.created_at.isoformat(),
                }
                for a in actions
            ],
            "usage": [],
            "usage_note": USAGE_NOTE,
        }

    async def _chain(self, key: Key) -> builtins.list[Key]:
        """The rotation chain through ``key``, oldest first (at most MAX_CHAIN)."""
        before: builtins.list[Key] = []
        cursor = key
        while cursor.rotated_from is not None and len(before) < MAX_CHAIN:
            found = await self._ctx.store.get_key(key.workspace_id, cursor.rotated_from)
            if found is None:
                break
            before.append(found)
            cursor = found
        after: builtins.list[Key] = []
        cursor = key
        while cursor.rotated_to is not None and len(after) < MAX_CHAIN:
            found = await self._ctx.store.get_key(key.workspace_id, cursor.rotated_to)
            if found is None:
                break
            after.append(found)
            cursor = found
        return [*reversed(before), key, *after]

    async def _counters(self, key: Key) -> dict[str, Any]:
        """The key's limit counters now (shared along its rotation chain)."""
        return await read_counters(self._ctx, key)

    async def _visible(self, principal: Principal, incident_id: str) -> Incident:
        incident = None
        if isinstance(incident_id, str) and looks_like_id("inc", incident_id):
            incident = await self._ctx.store.get_incident(
                principal.workspace_id, incident_id, scope_of(principal)
            )
        if incident is None:
            raise NotFound(f"no incident '{incident_id}'")
        return incident


def _text(value: object, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= limit or "\x00" in value:
        raise ValidationError(f"{name} is text of 1 to {limit} characters, no NUL", field=name)
    return value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _link(key: Key) -> dict[str, Any]:
    return {
        "key_id": key.id,
        "start": key.start,
        "created_at": _iso(key.created_at),
        "revoked_at": _iso(key.revoked_at),
        "expires_at": _iso(key.expires_at),
    }


def _summary(key: Key) -> dict[str, Any]:
    return {
        "key_id": key.id,
        "start": key.start,
        "api_id": key.api_id,
        "owner_id": key.owner_id,
        "name": key.name,
        "created_at": _iso(key.created_at),
        "last_used_at": _iso(key.last_used_at),
        "expires_at": _iso(key.expires_at),
        "revoked_at": _iso(key.revoked_at),
        "rotated_from": key.rotated_from,
        "rotated_to": key.rotated_to,
    }


__all__ = ["RESPONSES", "STATUSES", "Compromise", "EvidenceHook", "IncidentService"]
