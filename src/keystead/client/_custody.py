"""Client methods for key custody: owner public keys, pickups, event-triggered
actions, the compromise procedure and incidents (docs/lifecycle.md).

Two answers carry a key, once: :meth:`CustodyClient.claim_pickup` (``key`` for
a sealed pickup, ``jwe`` for an owner with a public key) and
:meth:`CustodyClient.compromise_key` with ``replace=True``
(``replacement["key"]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keystead.client._base import BaseClient, compact, seg


class CustodyClient(BaseClient):
    # -- owner public keys ----------------------------------------------------

    def set_owner_public_key(self, owner_id: str, jwk: Mapping[str, Any]) -> dict[str, Any]:
        """Register the owner's PUBLIC JWK (EC P-256/384/521 or OKP X25519): keys
        rotated with nobody present are then encrypted to it (a JWE)."""
        return self._object(
            "PUT", f"/v1/owners/{seg(owner_id)}/public_key", json={"jwk": dict(jwk)}
        )

    def remove_owner_public_key(self, owner_id: str) -> dict[str, Any]:
        return self._object("DELETE", f"/v1/owners/{seg(owner_id)}/public_key")

    # -- pickups --------------------------------------------------------------

    def list_pickups(
        self, *, cursor: str | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        """One page of pickup metadata: ``{"items": [...], "next_cursor": ...}``."""
        return self._object("GET", "/v1/pickups", params=compact(cursor=cursor, limit=limit))

    def claim_pickup(self, pickup_id: str) -> dict[str, Any]:
        """The held key, once: ``key`` (sealed) or ``jwe`` (the owner's public key).
        Needs a root key narrowed to the key's owner (or, for a key without an
        owner, a workspace-wide one)."""
        return self._object("POST", f"/v1/pickups/{seg(pickup_id)}/claim")

    # -- event-triggered actions ----------------------------------------------

    def act_on_key(
        self,
        key_id: str,
        action: str,
        *,
        source: str,
        reason: str,
        reference: str | None = None,
        grace_period_s: int | None = None,
    ) -> dict[str, Any]:
        """``action``: disable, rotate, emergency_rotate or revoke, because of
        ``source`` (alert, leak_report, operator ...). A rotation's ``result``
        names the new key and the pickup holding it."""
        body = {
            "action": action,
            "cause": compact(source=source, reason=reason, reference=reference),
            **compact(grace_period_s=grace_period_s),
        }
        return self._object("POST", f"/v1/keys/{seg(key_id)}/actions", json=body)

    def list_key_actions(
        self, key_id: str, *, cursor: str | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        params = compact(cursor=cursor, limit=limit)
        return self._object("GET", f"/v1/keys/{seg(key_id)}/actions", params=params)

    # -- compromise and incidents ---------------------------------------------

    def compromise_key(
        self,
        key_id: str,
        *,
        replace: bool = False,
        reason: str | None = None,
        notify: bool = True,
    ) -> dict[str, Any]:
        """Revoke now, optionally replace (``replacement["key"]``, shown once),
        notify the webhooks and open an incident."""
        body = {"replace": replace, "notify": notify, **compact(reason=reason)}
        return self._object("POST", f"/v1/keys/{seg(key_id)}/compromise", json=body)

    def list_incidents(
        self,
        *,
        status: str | None = None,
        key_id: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        params = compact(status=status, key_id=key_id, cursor=cursor, limit=limit)
        return self._object("GET", "/v1/incidents", params=params)

    def get_incident(self, incident_id: str) -> dict[str, Any]:
        return self._object("GET", f"/v1/incidents/{seg(incident_id)}")

    def update_incident(self, incident_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """``status`` (open, investigating, resolved) and ``notes`` (None clears)."""
        return self._object("PATCH", f"/v1/incidents/{seg(incident_id)}", json=dict(changes))


__all__ = ["CustodyClient"]
