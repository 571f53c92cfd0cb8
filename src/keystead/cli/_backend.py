"""One interface for the commands, over the local store or a Keystead server.

Commands are written once against :class:`Backend`; :func:`open_backend`
picks :class:`~keystead.cli._local.LocalBackend` (the service in-process, as
the local operator) or :class:`~keystead.cli._remote.RemoteBackend` (the HTTP
client, authenticated with a root key) from ``--url`` / ``KEYSTEAD_URL``.
Every operation takes and returns plain JSON-able values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from keystead.cli import _output as out
from keystead.cli._alert_backends import AlertBackend
from keystead.cli._analytics_backends import AnalyticsBackend
from keystead.cli._audit_backends import AuditBackend
from keystead.cli._custody_backends import CustodyBackend
from keystead.cli._runtime import CliState, confirm
from keystead.cli._webhook_backends import WebhookBackend

Json = dict[str, Any]


class Backend(
    WebhookBackend, CustodyBackend, AuditBackend, AnalyticsBackend, AlertBackend, Protocol
):
    # APIs and roles
    def create_api(
        self,
        name: str,
        prefix: str | None,
        key_defaults: Json | None,
        limits: Json | None,
        rotation_policy: Json | None = None,
    ) -> Json: ...
    def list_apis(self) -> list[Json]: ...
    def get_api(self, api_id: str) -> Json: ...
    def update_api(self, api_id: str, changes: Json) -> Json: ...
    def delete_api(self, api_id: str) -> None: ...
    def put_role(
        self, api_id: str, name: str, permissions: Sequence[str], description: str | None
    ) -> Json: ...
    def list_roles(self, api_id: str) -> list[Json]: ...
    def delete_role(self, api_id: str, name: str) -> None: ...

    # keys
    def create_keys(self, specs: Sequence[Json]) -> list[Json]: ...
    # get_key adds credits_remaining: the live balance (None without credits)
    def get_key(self, key_id: str) -> Json: ...
    def list_keys(
        self,
        *,
        api_id: str | None,
        owner_id: str | None,
        state: str | None,
        cursor: str | None,
        limit: int,
    ) -> Json: ...
    def update_key(self, key_id: str, changes: Json) -> Json: ...
    def revoke_key(self, key_id: str) -> Json: ...
    def rotate_key(
        self, key_id: str, grace_period_s: int | None, old_expires_at: str | None
    ) -> Json: ...
    def rotate_due(self, dry_run: bool) -> Json: ...
    def disable_key(self, key_id: str) -> Json: ...
    def enable_key(self, key_id: str) -> Json: ...
    def delete_key(self, key_id: str) -> None: ...
    def verify_key(
        self, key: str, context: Json, *, cost: int | None, ratelimits: list[Json] | None
    ) -> Json: ...
    def release(self, leases: Sequence[str]) -> None: ...

    # plans, owners, brute-force state
    def create_plan(self, spec: Json) -> Json: ...
    def list_plans(self) -> list[Json]: ...
    def get_plan(self, plan_id: str) -> Json: ...
    def update_plan(self, plan_id: str, changes: Json) -> Json: ...
    def delete_plan(self, plan_id: str) -> None: ...
    def put_owner(self, owner_id: str, limits: Json) -> Json: ...
    def get_owner(self, owner_id: str) -> Json: ...
    def list_owners(self) -> list[Json]: ...
    def delete_owner(self, owner_id: str) -> None: ...
    def failed_attempts(self, ip: str) -> Json: ...

    # root keys and workspaces
    def create_root_key(
        self,
        name: str | None,
        permissions: Sequence[str],
        api_ids: Sequence[str] | None,
        owner_id: str | None = None,
    ) -> Json: ...
    def list_root_keys(self) -> list[Json]: ...
    def revoke_root_key(self, root_key_id: str) -> Json: ...
    def create_workspace(self, name: str) -> Json: ...
    def list_workspaces(self) -> list[Json]: ...

    def close(self) -> None: ...


@contextmanager
def open_backend(state: CliState) -> Iterator[Backend]:
    """The backend the global options name, closed when the command is done."""
    from keystead.cli._connect import open_client
    from keystead.cli._remote import RemoteBackend

    with open_client(state) as client:
        yield RemoteBackend(client)


__all__ = ["Backend", "Json", "open_backend"]


def run_delete(
    state: CliState,
    remove: Callable[[Backend], object],
    *,
    prompt: str,
    done: str,
    answer: dict[str, Any],
    yes: bool,
    json_out: bool,
) -> None:
    """What every delete command does: confirm, remove, report."""
    confirm(prompt, yes=yes, json_mode=json_out)
    with open_backend(state) as backend:
        remove(backend)
    out.emit({"deleted": True, **answer}, json_out, lambda c: c.print(done, markup=False))
