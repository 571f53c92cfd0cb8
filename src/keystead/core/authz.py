"""Who is acting, and what management permissions they hold."""

from __future__ import annotations

from dataclasses import dataclass

from keystead.core.permissions import GrantSet
from keystead.errors import Forbidden

ROOT_PERMISSIONS: tuple[str, ...] = (
    "apis.create",
    "apis.read",
    "apis.update",
    "apis.delete",
    "roles.read",
    "roles.write",
    "keys.create",
    "keys.read",
    "keys.update",
    "keys.revoke",
    "keys.delete",
    "keys.verify",
    "keys.rotate",
    "keys.pickup",
    "root_keys.create",
    "root_keys.read",
    "root_keys.revoke",
    "plans.read",
    "plans.write",
    "owners.read",
    "owners.write",
    "limits.read",
    "webhooks.read",
    "webhooks.write",
    "incidents.read",
    "incidents.write",
    "audit.read",
    "usage.read",
    "alerts.read",
    "alerts.write",
)

LOCAL_OPERATOR = "cli"


@dataclass(slots=True, frozen=True)
class Principal:
    """A caller of the management API: a root key, or the local CLI operator."""

    workspace_id: str
    actor: str
    grants: GrantSet
    api_ids: frozenset[str] | None = None
    owner_id: str | None = None
    """A root key narrowed to one owner sees only that owner's keys and pickups."""

    def require(self, permission: str) -> None:
        if not self.grants.covers(permission):
            raise Forbidden(f"this root key lacks the '{permission}' permission")

    def sees_api(self, api_id: str) -> bool:
        return self.api_ids is None or api_id in self.api_ids

    def sees_owner(self, owner_id: str | None) -> bool:
        return self.owner_id is None or owner_id == self.owner_id


def local_operator(workspace_id: str) -> Principal:
    return Principal(workspace_id=workspace_id, actor=LOCAL_OPERATOR, grants=GrantSet(["*"]))


__all__ = ["LOCAL_OPERATOR", "ROOT_PERMISSIONS", "Principal", "local_operator"]
