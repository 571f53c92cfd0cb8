"""``auth/token/lookup-self`` of the Vault face: what ``hvac.Client.is_authenticated``
asks. A valid credential (a Keystead root key in ``X-Vault-Token``) answers 200
with a token description; any other gets 403 before this is reached (``app.py``).
The token itself is never echoed: ``id`` and ``accessor`` carry the root key's id.
"""

from __future__ import annotations

from keystead.http.vault.wire import VaultError, VaultRequest, VaultResponse

ROUTES: tuple[tuple[str, str], ...] = (("GET", "auth/token/lookup-self"),)


async def lookup_self(request: VaultRequest) -> VaultResponse:
    principal = request.principal
    key_id = principal.actor.partition(":")[2] or principal.actor
    data = {
        "accessor": key_id,
        "creation_time": 0,
        "creation_ttl": 0,
        "display_name": principal.actor,
        "entity_id": "",
        "expire_time": None,
        "explicit_max_ttl": 0,
        "id": key_id,
        "issue_time": "",
        "meta": {"workspace_id": principal.workspace_id},
        "num_uses": 0,
        "orphan": True,
        "path": "auth/token/keystead",
        "policies": list(principal.grants.grants),
        "renewable": False,
        "ttl": 0,
        "type": "service",
    }
    return VaultResponse(data=data)


async def handle(request: VaultRequest) -> VaultResponse:
    """``request.rest`` is the path below ``auth/``."""
    if request.rest.rstrip("/") == "token/lookup-self":
        if request.method != "GET":
            raise VaultError(405, ["unsupported operation"])
        return await lookup_self(request)
    raise VaultError(404, ["unsupported path"])


__all__ = ["ROUTES", "handle", "lookup_self"]
