"""The backend over a Keystead server, through the HTTP client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keystead.cli._alert_backends import RemoteAlerts
from keystead.cli._analytics_backends import RemoteAnalytics
from keystead.cli._audit_backends import RemoteAudit
from keystead.cli._custody_backends import RemoteCustody
from keystead.cli._runtime import UsageProblem
from keystead.cli._webhook_backends import RemoteWebhooks
from keystead.client import Client

Json = dict[str, Any]


class RemoteBackend(RemoteWebhooks, RemoteCustody, RemoteAudit, RemoteAnalytics, RemoteAlerts):
    def __init__(self, client: Client) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"RemoteBackend({self._client.base_url!r})"

    def close(self) -> None:
        self._client.close()

    # APIs and roles

    def create_api(
        self,
        name: str,
        prefix: str | None,
        key_defaults: Json | None,
        limits: Json | None,
        rotation_policy: Json | None = None,
    ) -> Json:
        return self._client.create_api(
            name,
            prefix=prefix,
            key_defaults=key_defaults,
            limits=limits,
            rotation_policy=rotation_policy,
        )

    def list_apis(self) -> list[Json]:
        return self._client.list_apis()

    def get_api(self, api_id: str) -> Json:
        return self._client.get_api(api_id)

    def update_api(self, api_id: str, changes: Json) -> Json:
        return self._client.update_api(api_id, changes)

    def delete_api(self, api_id: str) -> None:
        self._client.delete_api(api_id)

    def put_role(
        self, api_id: str, name: str, permissions: Sequence[str], description: str | None
    ) -> Json:
        return self._client.put_role(api_id, name, permissions, description=description)

    def list_roles(self, api_id: str) -> list[Json]:
        return self._client.list_roles(api_id)

    def delete_role(self, api_id: str, name: str) -> None:
        self._client.delete_role(api_id, name)

    # keys

    def create_keys(self, specs: Sequence[Json]) -> list[Json]:
        if len(specs) == 1:
            spec = dict(specs[0])
            return [self._client.create_key(spec.pop("api_id"), **spec)]
        return self._client.create_keys(specs)

    def get_key(self, key_id: str) -> Json:
        return self._client.get_key(key_id)

    def list_keys(
        self,
        *,
        api_id: str | None,
        owner_id: str | None,
        state: str | None,
        cursor: str | None,
        limit: int,
    ) -> Json:
        return self._client.list_keys(
            api_id=api_id, owner_id=owner_id, state=state, cursor=cursor, limit=limit
        )

    def update_key(self, key_id: str, changes: Json) -> Json:
        return self._client.update_key(key_id, changes)

    def revoke_key(self, key_id: str) -> Json:
        return self._client.revoke_key(key_id)

    def rotate_key(
        self, key_id: str, grace_period_s: int | None, old_expires_at: str | None
    ) -> Json:
        return self._client.rotate_key(
            key_id, grace_period_s=grace_period_s, old_expires_at=old_expires_at
        )

    def rotate_due(self, dry_run: bool) -> Json:
        return self._client.rotate_due(dry_run=dry_run)

    def disable_key(self, key_id: str) -> Json:
        return self._client.disable_key(key_id)

    def enable_key(self, key_id: str) -> Json:
        return self._client.enable_key(key_id)

    def delete_key(self, key_id: str) -> None:
        self._client.delete_key(key_id)

    def verify_key(
        self, key: str, context: Json, *, cost: int | None, ratelimits: list[Json] | None
    ) -> Json:
        return self._client.verify_key(key, **context, cost=cost, ratelimits=ratelimits)

    def release(self, leases: Sequence[str]) -> None:
        self._client.release(leases)

    # plans, owners, brute-force state

    def create_plan(self, spec: Json) -> Json:
        fields = dict(spec)
        return self._client.create_plan(fields.pop("name"), **fields)

    def list_plans(self) -> list[Json]:
        return self._client.list_plans()

    def get_plan(self, plan_id: str) -> Json:
        return self._client.get_plan(plan_id)

    def update_plan(self, plan_id: str, changes: Json) -> Json:
        return self._client.update_plan(plan_id, changes)

    def delete_plan(self, plan_id: str) -> None:
        self._client.delete_plan(plan_id)

    def put_owner(self, owner_id: str, limits: Json) -> Json:
        return self._client.put_owner(owner_id, **limits)

    def get_owner(self, owner_id: str) -> Json:
        return self._client.get_owner(owner_id)

    def list_owners(self) -> list[Json]:
        return self._client.list_owners()

    def delete_owner(self, owner_id: str) -> None:
        self._client.delete_owner(owner_id)

    def failed_attempts(self, ip: str) -> Json:
        return self._client.failed_attempts(ip)

    # root keys and workspaces

    def create_root_key(
        self,
        name: str | None,
        permissions: Sequence[str],
        api_ids: Sequence[str] | None,
        owner_id: str | None = None,
    ) -> Json:
        return self._client.create_root_key(
            name=name, permissions=permissions, api_ids=api_ids, owner_id=owner_id
        )

    def list_root_keys(self) -> list[Json]:
        return self._client.list_root_keys()

    def revoke_root_key(self, root_key_id: str) -> Json:
        return self._client.revoke_root_key(root_key_id)

    def create_workspace(self, name: str) -> Json:
        raise UsageProblem(_LOCAL_ONLY)

    def list_workspaces(self) -> list[Json]:
        raise UsageProblem(_LOCAL_ONLY)


_LOCAL_ONLY = "workspaces are managed on the local store only; unset KEYSTEAD_URL / --url"

__all__ = ["RemoteBackend"]
