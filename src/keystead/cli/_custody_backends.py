"""The custody operations of the CLI backends (owner public keys, pickups,
key actions, compromise, incidents): the interface, and its local and remote
implementations as mixins of ``LocalBackend`` and ``RemoteBackend``."""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from keystead.cli import _custody_json as views

if TYPE_CHECKING:  # loaded by the backend that uses them, not by every command
    from keystead.client import Client
    from keystead.core.authz import Principal
    from keystead.service import Keystead

Json = dict[str, Any]
T = TypeVar("T")


class CustodyBackend(Protocol):
    def set_owner_public_key(self, owner_id: str, jwk: Json) -> Json: ...
    def remove_owner_public_key(self, owner_id: str) -> Json: ...
    def list_pickups(self, *, cursor: str | None, limit: int) -> Json: ...
    def claim_pickup(self, pickup_id: str) -> Json: ...
    def act_on_key(
        self, key_id: str, action: str, cause: Json, grace_period_s: int | None
    ) -> Json: ...
    def list_key_actions(self, key_id: str, *, cursor: str | None, limit: int) -> Json: ...
    def compromise_key(
        self, key_id: str, *, replace: bool, reason: str | None, notify: bool
    ) -> Json: ...
    def list_incidents(
        self, *, status: str | None, key_id: str | None, cursor: str | None, limit: int
    ) -> Json: ...
    def get_incident(self, incident_id: str) -> Json: ...
    def update_incident(self, incident_id: str, changes: Json) -> Json: ...


class LocalCustody:
    """Custody on the local store, as the local operator (a workspace-wide
    principal: it claims pickups of keys without an owner only)."""

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        raise NotImplementedError

    def _service(self) -> Keystead:
        raise NotImplementedError

    def _operator(self) -> Principal:
        raise NotImplementedError

    def set_owner_public_key(self, owner_id: str, jwk: Json) -> Json:
        ks, who = self._service(), self._operator()
        return views.owner(self._run(ks.owners.set_public_key(who, owner_id, jwk)))

    def remove_owner_public_key(self, owner_id: str) -> Json:
        ks, who = self._service(), self._operator()
        return views.owner(self._run(ks.owners.remove_public_key(who, owner_id)))

    def list_pickups(self, *, cursor: str | None, limit: int) -> Json:
        ks, who = self._service(), self._operator()
        page = self._run(ks.pickups.list(who, cursor=cursor, limit=limit))
        now = datetime.fromtimestamp(ks.clock.now(), UTC)
        return {
            "items": [views.pickup(p, now) for p in page.items],
            "next_cursor": page.next_cursor,
        }

    def claim_pickup(self, pickup_id: str) -> Json:
        ks, who = self._service(), self._operator()
        return views.claim(self._run(ks.pickups.claim(who, pickup_id)))

    def act_on_key(self, key_id: str, action: str, cause: Json, grace_period_s: int | None) -> Json:
        ks, who = self._service(), self._operator()
        done = self._run(
            ks.actions.apply(who, key_id, action, cause, grace_period_s=grace_period_s)
        )
        return views.action_result(done, ks.clock.now())

    def list_key_actions(self, key_id: str, *, cursor: str | None, limit: int) -> Json:
        ks, who = self._service(), self._operator()
        page = self._run(ks.actions.list(who, key_id, cursor=cursor, limit=limit))
        return {
            "items": [views.key_action(a) for a in page.items],
            "next_cursor": page.next_cursor,
        }

    def compromise_key(
        self, key_id: str, *, replace: bool, reason: str | None, notify: bool
    ) -> Json:
        ks, who = self._service(), self._operator()
        done = self._run(
            ks.incidents.compromise(who, key_id, replace=replace, reason=reason, notify=notify)
        )
        return views.compromise(done)

    def list_incidents(
        self, *, status: str | None, key_id: str | None, cursor: str | None, limit: int
    ) -> Json:
        ks, who = self._service(), self._operator()
        page = self._run(
            ks.incidents.list(who, status=status, key_id=key_id, cursor=cursor, limit=limit)
        )
        return {
            "items": [views.incident(i) for i in page.items],
            "next_cursor": page.next_cursor,
        }

    def get_incident(self, incident_id: str) -> Json:
        ks, who = self._service(), self._operator()
        return views.incident(self._run(ks.incidents.get(who, incident_id)))

    def update_incident(self, incident_id: str, changes: Json) -> Json:
        ks, who = self._service(), self._operator()
        return views.incident(self._run(ks.incidents.update(who, incident_id, changes)))


class RemoteCustody:
    """Custody on a Keystead server, as the root key's principal."""

    _client: Client

    def set_owner_public_key(self, owner_id: str, jwk: Json) -> Json:
        return self._client.set_owner_public_key(owner_id, jwk)

    def remove_owner_public_key(self, owner_id: str) -> Json:
        return self._client.remove_owner_public_key(owner_id)

    def list_pickups(self, *, cursor: str | None, limit: int) -> Json:
        return self._client.list_pickups(cursor=cursor, limit=limit)

    def claim_pickup(self, pickup_id: str) -> Json:
        return self._client.claim_pickup(pickup_id)

    def act_on_key(self, key_id: str, action: str, cause: Json, grace_period_s: int | None) -> Json:
        return self._client.act_on_key(
            key_id,
            action,
            source=cause["source"],
            reason=cause["reason"],
            reference=cause.get("reference"),
            grace_period_s=grace_period_s,
        )

    def list_key_actions(self, key_id: str, *, cursor: str | None, limit: int) -> Json:
        return self._client.list_key_actions(key_id, cursor=cursor, limit=limit)

    def compromise_key(
        self, key_id: str, *, replace: bool, reason: str | None, notify: bool
    ) -> Json:
        return self._client.compromise_key(key_id, replace=replace, reason=reason, notify=notify)

    def list_incidents(
        self, *, status: str | None, key_id: str | None, cursor: str | None, limit: int
    ) -> Json:
        return self._client.list_incidents(status=status, key_id=key_id, cursor=cursor, limit=limit)

    def get_incident(self, incident_id: str) -> Json:
        return self._client.get_incident(incident_id)

    def update_incident(self, incident_id: str, changes: Json) -> Json:
        return self._client.update_incident(incident_id, changes)


__all__ = ["CustodyBackend", "LocalCustody", "RemoteCustody"]
