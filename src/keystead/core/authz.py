"""Who is acting, and what management permissions they hold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from keystead.core.permissions import GrantSet
from keystead.core.secret_grants import (
    SECRET_PERMISSIONS,
    allows_secret,
    covers_permission,
    scoped_root_permission_problem,
)
from keystead.errors import Forbidden, ValidationError

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
    "leaks.report",
    "tokens.introspect",
    "tokens.revoke",
    "tokens.keys.read",
    "tokens.keys.rotate",
    "server_secret.read",
    "server_secret.rotate",
    "portal.create",
    "portal.configure",
    *SECRET_PERMISSIONS,
)

LOCAL_OPERATOR = "cli"
NARROWED_SECRETS = (
    "secrets belong to the whole workspace: a root key narrowed to APIs or an owner cannot use them"
)


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

    def owner_within(self, owner_id: str | None, field: str = "owner_id") -> str | None:
        """The owner a new or changed object of this principal gets: its own when
        it is narrowed to one (asking for another is a ValidationError), else
        ``owner_id``."""
        if self.owner_id is None:
            return owner_id
        if owner_id not in (None, self.owner_id):
            raise ValidationError("cannot widen the caller's owner scope", field=field)
        return self.owner_id

    def sees_whole_owner(self, owner_id: str) -> bool:
        """An owner's settings and figures span APIs: a root key narrowed to some
        APIs sees no owner's, one narrowed to an owner only its own."""
        return self.api_ids is None and self.sees_owner(owner_id)

    def require_operator(self, permission: str, why: str) -> None:
        """``permission``, held by the local operator (``keystead`` on a server host,
        against its store): for what serves every workspace of the deployment,
        which no workspace's root key may change (403 ``why`` otherwise)."""
        self.require(permission)
        if self.actor != LOCAL_OPERATOR:
            raise Forbidden(why)

    def require_whole_workspace(self, permission: str, why: str) -> None:
        """``permission``, and a root key narrowed to neither APIs nor an owner:
        for what applies across the workspace (403 ``why`` otherwise)."""
        self.require(permission)
        if self.api_ids is not None or self.owner_id is not None:
            raise Forbidden(why)

    def encloses(
        self, permissions: Iterable[str], api_ids: Iterable[str] | None, owner_id: str | None
    ) -> bool:
        """Is a root key of this scope within this principal's own: same or fewer
        APIs, the same owner (or none when this principal has none) and only
        permissions it holds itself? A root key may see and revoke only those;
        its own scope is trivially within itself."""
        if self.api_ids is not None and (api_ids is None or not self.api_ids.issuperset(api_ids)):
            return False
        if self.owner_id is not None and owner_id != self.owner_id:
            return False
        return all(covers_permission(self.grants, permission) for permission in permissions)

    @property
    def narrowed(self) -> bool:
        """Whether this root key is narrowed to some APIs or to an owner."""
        return self.api_ids is not None or self.owner_id is not None

    def may(self, action: str, mount: str, path: str) -> bool:
        """Whether this principal may ``action`` (``read``, ``list``, ...) the secret
        ``mount/path`` (for ``list``: the folder). An invalid action, mount or path
        is a ValidationError, so a crafted path is refused before any matching.

        Secrets belong to the workspace, not to an API or an owner: a root key
        narrowed to either may do nothing with them (its path grants aside)."""
        allowed = allows_secret(self.grants, action, mount, path)
        return allowed and not self.narrowed

    def require_secret(self, action: str, mount: str, path: str) -> None:
        """``may``, or Forbidden naming the permission that is missing."""
        if not self.may(action, mount, path):
            if self.narrowed:
                raise Forbidden(NARROWED_SECRETS)
            raise Forbidden(f"this root key lacks 'secrets.{action}' on this path")


def check_root_permissions(values: Sequence[str]) -> None:
    """Refuse a root key permission that names nothing: each must be one of
    ``ROOT_PERMISSIONS`` or a wildcard that covers at least one of them (``keys.*``,
    ``*``), or a secrets one scoped to a path (``secrets.read:secret/payments/*``).
    The syntax is checked before (``validate_permission``)."""
    for index, value in enumerate(values):
        if "/" in value:
            problem = scoped_root_permission_problem(value)
            if problem is not None:
                raise ValidationError(
                    f"invalid root key permission '{value}': {problem}",
                    field=f"permissions[{index}]",
                )
            continue
        grants = GrantSet([value])
        if not any(grants.covers(known) for known in ROOT_PERMISSIONS):
            raise ValidationError(
                f"unknown root key permission '{value}' (known: {', '.join(ROOT_PERMISSIONS)}, "
                "a wildcard such as 'keys.*' or '*', or secrets.<action>:mount/path)",
                field=f"permissions[{index}]",
            )


def local_operator(workspace_id: str) -> Principal:
    return Principal(workspace_id=workspace_id, actor=LOCAL_OPERATOR, grants=GrantSet(["*"]))


__all__ = [
    "LOCAL_OPERATOR",
    "NARROWED_SECRETS",
    "ROOT_PERMISSIONS",
    "Principal",
    "check_root_permissions",
    "local_operator",
]
