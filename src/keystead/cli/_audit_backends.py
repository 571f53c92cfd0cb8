"""The audit operations of the CLI backends: the interface, and its local and
remote implementations as mixins of ``LocalBackend`` and ``RemoteBackend``."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from keystead.cli._runtime import UsageProblem
from keystead.core.audit import entry_json, report_json

if TYPE_CHECKING:  # loaded by the backend that uses them, not by every command
    from keystead.client import Client
    from keystead.core.authz import Principal
    from keystead.service import Keystead

Json = dict[str, Any]
T = TypeVar("T")


class AuditBackend(Protocol):
    def list_audit(self, filters: Json, cursor: str | None, limit: int) -> Json: ...
    def export_audit(self) -> list[Json]: ...
    def verify_audit(self) -> Json: ...
    def audit_public_key(self) -> Json: ...
    def audit_checkpoint(self) -> list[Json]: ...


class LocalAudit:
    """The audit log of the local store, as the local operator."""

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        raise NotImplementedError

    def _service(self) -> Keystead:
        raise NotImplementedError

    def _operator(self) -> Principal:
        raise NotImplementedError

    def list_audit(self, filters: Json, cursor: str | None, limit: int) -> Json:
        ks, who = self._service(), self._operator()
        page = self._run(ks.audit.list(who, **filters, cursor=cursor, limit=limit))
        return {"items": [entry_json(e) for e in page.items], "next_cursor": page.next_cursor}

    def export_audit(self) -> list[Json]:
        ks, who = self._service(), self._operator()

        async def collect() -> list[Json]:
            return [entry_json(e) async for e in ks.audit.export(who)]

        return self._run(collect())

    def verify_audit(self) -> Json:
        ks, who = self._service(), self._operator()
        return report_json(self._run(ks.audit.verify(who)))

    def audit_public_key(self) -> Json:
        ks = self._service()
        return {
            "algorithm": "Ed25519",
            "public_key": ks.audit.public_key,
            "pem": ks.audit.public_key_pem,
        }

    def audit_checkpoint(self) -> list[Json]:
        ks, who = self._service(), self._operator()
        return [
            {"workspace_id": c.workspace_id, "seq": c.seq, "hash": c.hash}
            for c in self._run(ks.audit.checkpoint(who))
        ]


class RemoteAudit:
    """The audit log of a Keystead server."""

    _client: Client

    def list_audit(self, filters: Json, cursor: str | None, limit: int) -> Json:
        return self._client.list_audit(**filters, cursor=cursor, limit=limit)

    def export_audit(self) -> list[Json]:
        return self._client.export_audit()

    def verify_audit(self) -> Json:
        return self._client.verify_audit()

    def audit_public_key(self) -> Json:
        return self._client.audit_public_key()

    def audit_checkpoint(self) -> list[Json]:
        raise UsageProblem("checkpoints are written by the server (its scheduler) or locally")


__all__ = ["AuditBackend", "LocalAudit", "RemoteAudit"]
