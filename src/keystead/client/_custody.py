"""The calls of key custody: owner public keys, pickups, event-triggered actions,
the compromise procedure and incidents (docs/lifecycle.md).

Two answers carry a key, once: ``claim_pickup`` (``key`` for a sealed pickup,
``jwe`` for an owner with a public key) and ``compromise_key`` with
``replace=True`` (``replacement["key"]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keystead.client._call import Call, compact, endpoint, get, post, read_object, seg


class CustodyApi:
    # -- owner public keys ----------------------------------------------------

    @endpoint(("PUT", "/v1/owners/{owner_id}/public_key"))
    def set_owner_public_key(self, owner_id: str, jwk: Mapping[str, Any]) -> Call[dict[str, Any]]:
        """Register the owner's PUBLIC JWK (EC P-256/384/521 or OKP X25519): keys
        rotated with nobody present are then encrypted to it (a JWE)."""
        path = f"/v1/owners/{seg(owner_id)}/public_key"
        return Call("PUT", path, read_object, json={"jwk": dict(jwk)})

    @endpoint(("DELETE", "/v1/owners/{owner_id}/public_key"))
    def remove_owner_public_key(self, owner_id: str) -> Call[dict[str, Any]]:
        return Call("DELETE", f"/v1/owners/{seg(owner_id)}/public_key", read_object)

    # -- pickups --------------------------------------------------------------

    @endpoint(("GET", "/v1/pickups"))
    def list_pickups(
        self, *, cursor: str | None = None, limit: int | None = None
    ) -> Call[dict[str, Any]]:
        """One page of pickup metadata: ``{"items": [...], "next_cursor": ...}``."""
        return get("/v1/pickups", read_object, cursor=cursor, limit=limit)

    @endpoint(("POST", "/v1/pickups/{pickup_id}/claim"))
    def claim_pickup(self, pickup_id: str) -> Call[dict[str, Any]]:
        """The held key, once: ``key`` (sealed) or ``jwe`` (the owner's public key).
        Needs a root key narrowed to the key's owner (or, for a key without an
        owner, a workspace-wide one)."""
        return post(f"/v1/pickups/{seg(pickup_id)}/claim", read_object)

    # -- event-triggered actions ----------------------------------------------

    @endpoint(("POST", "/v1/keys/{key_id}/actions"))
    def act_on_key(
        self,
        key_id: str,
        action: str,
        *,
        source: str,
        reason: str,
        reference: str | None = None,
        grace_period_s: int | None = None,
    ) -> Call[dict[str, Any]]:
        """``action``: disable, rotate, emergency_rotate or revoke, because of
        ``source`` (alert, leak_report, operator ...). A rotation's ``result``
        names the new key and the pickup holding it."""
        body = {
            "action": action,
            "cause": compact(source=source, reason=reason, reference=reference),
            **compact(grace_period_s=grace_period_s),
        }
        return post(f"/v1/keys/{seg(key_id)}/actions", read_object, body)

    @endpoint(("GET", "/v1/keys/{key_id}/actions"))
    def list_key_actions(
        self, key_id: str, *, cursor: str | None = None, limit: int | None = None
    ) -> Call[dict[str, Any]]:
        return get(f"/v1/keys/{seg(key_id)}/actions", read_object, cursor=cursor, limit=limit)

    # -- compromise and incidents ---------------------------------------------

    @endpoint(("POST", "/v1/keys/{key_id}/compromise"))
    def compromise_key(
        self,
        key_id: str,
        *,
        replace: bool = False,
        reason: str | None = None,
        notify: bool = True,
    ) -> Call[dict[str, Any]]:
        """Revoke now, optionally replace (``replacement["key"]``, shown once),
        notify the webhooks and open an incident."""
        body = {"replace": replace, "notify": notify, **compact(reason=reason)}
        return post(f"/v1/keys/{seg(key_id)}/compromise", read_object, body)

    @endpoint(("GET", "/v1/incidents"))
    def list_incidents(
        self,
        *,
        status: str | None = None,
        key_id: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Call[dict[str, Any]]:
        return get(
            "/v1/incidents", read_object, status=status, key_id=key_id, cursor=cursor, limit=limit
        )

    @endpoint(("GET", "/v1/incidents/{incident_id}"))
    def get_incident(self, incident_id: str) -> Call[dict[str, Any]]:
        return get(f"/v1/incidents/{seg(incident_id)}", read_object)

    @endpoint(("PATCH", "/v1/incidents/{incident_id}"))
    def update_incident(self, incident_id: str, changes: Mapping[str, Any]) -> Call[dict[str, Any]]:
        """``status`` (open, investigating, resolved) and ``notes`` (None clears)."""
        path = f"/v1/incidents/{seg(incident_id)}"
        return Call("PATCH", path, read_object, json=dict(changes))


__all__ = ["CustodyApi"]
