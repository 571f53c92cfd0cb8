"""The backend over the local store: the service in-process, as the local operator.

One event loop (``asyncio.Runner``) lives for the duration of a command; the
store is opened on first use and closed with the backend.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar, cast

from keystead.cli import _custody_json as custody_json
from keystead.cli import _rotation_serialize as rotation_serialize
from keystead.cli import _serialize as ser
from keystead.cli._alert_backends import LocalAlerts
from keystead.cli._analytics_backends import LocalAnalytics
from keystead.cli._audit_backends import LocalAudit
from keystead.cli._custody_backends import LocalCustody
from keystead.cli._webhook_backends import LocalWebhooks
from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.models import KeyState, VerifyContext
from keystead.limits import RateLimit
from keystead.service import Keystead

Json = dict[str, Any]
T = TypeVar("T")


class LocalBackend(LocalWebhooks, LocalCustody, LocalAudit, LocalAnalytics, LocalAlerts):
    def __init__(self, settings: Settings, workspace_id: str | None) -> None:
        self._settings = settings
        self._workspace_id = workspace_id
        self._runner: asyncio.Runner | None = None
        self._ks: Keystead | None = None
        self._principal: Principal | None = None

    def __repr__(self) -> str:
        return "LocalBackend()"

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(coro)

    def _service(self) -> Keystead:
        if self._ks is None:
            self._ks = self._run(Keystead.open(settings=self._settings, create_secret=False))
        return self._ks

    def _operator(self) -> Principal:
        if self._principal is None:
            ks = self._service()
            self._principal = self._run(ks.workspaces.local_operator(self._workspace_id))
        return self._principal

    def _now(self) -> float:
        return self._service().clock.now()

    def close(self) -> None:
        try:
            if self._ks is not None:
                self._run(self._ks.close())
        finally:
            self._ks = None
            if self._runner is not None:
                self._runner.close()
                self._runner = None

    # APIs and roles

    def create_api(
        self,
        name: str,
        prefix: str | None,
        key_defaults: Json | None,
        limits: Json | None,
        rotation_policy: Json | None = None,
    ) -> Json:
        ks, who = self._service(), self._operator()
        created = ks.apis.create(
            who,
            name=name,
            prefix=prefix,
            key_defaults=key_defaults,
            limits=limits,
            rotation_policy=rotation_policy,
        )
        return ser.api(self._run(created))

    def list_apis(self) -> list[Json]:
        ks, who = self._service(), self._operator()
        return [ser.api(a) for a in self._run(ks.apis.list(who))]

    def get_api(self, api_id: str) -> Json:
        ks, who = self._service(), self._operator()
        return ser.api(self._run(ks.apis.get(who, api_id)))

    def update_api(self, api_id: str, changes: Json) -> Json:
        ks, who = self._service(), self._operator()
        return ser.api(self._run(ks.apis.update(who, api_id, changes)))

    def delete_api(self, api_id: str) -> None:
        ks, who = self._service(), self._operator()
        self._run(ks.apis.delete(who, api_id))

    def put_role(
        self, api_id: str, name: str, permissions: Sequence[str], description: str | None
    ) -> Json:
        ks, who = self._service(), self._operator()
        return ser.role(self._run(ks.apis.put_role(who, api_id, name, permissions, description)))

    def list_roles(self, api_id: str) -> list[Json]:
        ks, who = self._service(), self._operator()
        return [ser.role(r) for r in self._run(ks.apis.list_roles(who, api_id))]

    def delete_role(self, api_id: str, name: str) -> None:
        ks, who = self._service(), self._operator()
        self._run(ks.apis.delete_role(who, api_id, name))

    # keys

    def create_keys(self, specs: Sequence[Json]) -> list[Json]:
        ks, who = self._service(), self._operator()
        created = self._run(ks.keys.create_many(who, specs))
        now = self._now()
        return [ser.created_key(c, now) for c in created]

    def get_key(self, key_id: str) -> Json:
        ks, who = self._service(), self._operator()
        key = ser.key(self._run(ks.keys.get(who, key_id)), self._now())
        return {**key, "credits_remaining": self._run(ks.keys.credits(who, key_id))}

    def list_keys(
        self,
        *,
        api_id: str | None,
        owner_id: str | None,
        state: str | None,
        cursor: str | None,
        limit: int,
    ) -> Json:
        ks, who = self._service(), self._operator()
        page = self._run(
            ks.keys.list(
                who,
                api_id=api_id,
                owner_id=owner_id,
                state=cast(KeyState | None, state),
                cursor=cursor,
                limit=limit,
            )
        )
        now = self._now()
        return {"items": [ser.key(k, now) for k in page.items], "next_cursor": page.next_cursor}

    def update_key(self, key_id: str, changes: Json) -> Json:
        ks, who = self._service(), self._operator()
        return ser.key(self._run(ks.keys.update(who, key_id, changes)), self._now())

    def revoke_key(self, key_id: str) -> Json:
        ks, who = self._service(), self._operator()
        return ser.key(self._run(ks.keys.revoke(who, key_id)), self._now())

    def rotate_key(
        self, key_id: str, grace_period_s: int | None, old_expires_at: str | None
    ) -> Json:
        ks, who = self._service(), self._operator()
        rotation = self._run(
            ks.rotation.rotate(
                who, key_id, grace_period_s=grace_period_s, old_expires_at=old_expires_at
            )
        )
        return rotation_serialize.rotation(rotation, self._now())

    def rotate_due(self, dry_run: bool) -> Json:
        ks, who = self._service(), self._operator()
        scheduler = ks.scheduler
        found = self._run(scheduler.due(who) if dry_run else scheduler.rotate_due(who))
        return {"dry_run": dry_run, "items": [rotation_serialize.due_key(d) for d in found]}

    def disable_key(self, key_id: str) -> Json:
        ks, who = self._service(), self._operator()
        return ser.key(self._run(ks.keys.disable(who, key_id)), self._now())

    def enable_key(self, key_id: str) -> Json:
        ks, who = self._service(), self._operator()
        return ser.key(self._run(ks.keys.enable(who, key_id)), self._now())

    def delete_key(self, key_id: str) -> None:
        ks, who = self._service(), self._operator()
        self._run(ks.keys.delete(who, key_id))

    def verify_key(
        self, key: str, context: Json, *, cost: int | None, ratelimits: list[Json] | None
    ) -> Json:
        ks, who = self._service(), self._operator()
        extra = [
            RateLimit.from_dict(item, f"ratelimits[{i}]") for i, item in enumerate(ratelimits or [])
        ]
        verdict = self._run(
            ks.verify(
                key,
                VerifyContext(**context),
                principal=who,
                cost=1 if cost is None else cost,
                ratelimits=extra,
            )
        )
        return ser.verdict(verdict)

    def release(self, leases: Sequence[str]) -> None:
        self._run(self._service().release(leases))

    # plans, owners, brute-force state

    def create_plan(self, spec: Json) -> Json:
        ks, who = self._service(), self._operator()
        return ser.plan(self._run(ks.plans.create(who, **spec)))

    def list_plans(self) -> list[Json]:
        ks, who = self._service(), self._operator()
        return [ser.plan(p) for p in self._run(ks.plans.list(who))]

    def get_plan(self, plan_id: str) -> Json:
        ks, who = self._service(), self._operator()
        return ser.plan(self._run(ks.plans.get(who, plan_id)))

    def update_plan(self, plan_id: str, changes: Json) -> Json:
        ks, who = self._service(), self._operator()
        return ser.plan(self._run(ks.plans.update(who, plan_id, changes)))

    def delete_plan(self, plan_id: str) -> None:
        ks, who = self._service(), self._operator()
        self._run(ks.plans.delete(who, plan_id))

    def put_owner(self, owner_id: str, limits: Json) -> Json:
        ks, who = self._service(), self._operator()
        return custody_json.owner(self._run(ks.owners.put(who, owner_id, **limits)))

    def get_owner(self, owner_id: str) -> Json:
        ks, who = self._service(), self._operator()
        return custody_json.owner(self._run(ks.owners.get(who, owner_id)))

    def list_owners(self) -> list[Json]:
        ks, who = self._service(), self._operator()
        return [custody_json.owner(o) for o in self._run(ks.owners.list(who))]

    def delete_owner(self, owner_id: str) -> None:
        ks, who = self._service(), self._operator()
        self._run(ks.owners.delete(who, owner_id))

    def failed_attempts(self, ip: str) -> Json:
        ks, who = self._service(), self._operator()
        return dataclasses.asdict(self._run(ks.failed_attempts_of(who, ip)))

    # root keys and workspaces

    def create_root_key(
        self,
        name: str | None,
        permissions: Sequence[str],
        api_ids: Sequence[str] | None,
        owner_id: str | None = None,
    ) -> Json:
        ks, who = self._service(), self._operator()
        created = self._run(
            ks.root_keys.create(
                who, name=name, permissions=permissions, api_ids=api_ids, owner_id=owner_id
            )
        )
        return {**ser.created_root_key(created), "owner_id": created.root_key.owner_id}

    def list_root_keys(self) -> list[Json]:
        ks, who = self._service(), self._operator()
        return [custody_json.root_key(r) for r in self._run(ks.root_keys.list(who))]

    def revoke_root_key(self, root_key_id: str) -> Json:
        ks, who = self._service(), self._operator()
        return custody_json.root_key(self._run(ks.root_keys.revoke(who, root_key_id)))

    def create_workspace(self, name: str) -> Json:
        boot = self._run(self._service().workspaces.create(name))
        return {
            "workspace_id": boot.workspace.id,
            "name": boot.workspace.name,
            "root_key_id": boot.root_key.root_key.id,
            "root_key": boot.root_key.plaintext,
        }

    def list_workspaces(self) -> list[Json]:
        return [ser.workspace(w) for w in self._run(self._service().workspaces.list())]


__all__ = ["LocalBackend"]
