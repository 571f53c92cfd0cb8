"""Client methods for the audit log: list, verify, export, the signing key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from keystead.client._base import BaseClient, compact


class AuditClient(BaseClient):
    def list_audit(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: str | None = None,
        until: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        """One page, newest first: ``{"items": [...], "next_cursor": ...}``."""
        params = compact(actor=actor, action=action, target=target, cursor=cursor, limit=limit)
        params.update(compact(**{"from": since, "to": until}))
        return self._object("GET", "/v1/audit", params=params)

    def iter_audit(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every matching entry, newest first, following the cursor."""
        cursor = None
        while True:
            page = self.list_audit(**filters, cursor=cursor, limit=1000)
            yield from page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def export_audit(self) -> list[dict[str, Any]]:
        """The whole chain, oldest first (as ``keystead audit export`` writes it)."""
        return sorted(self.iter_audit(), key=lambda e: int(e["seq"]))

    def verify_audit(self) -> dict[str, Any]:
        return self._object("GET", "/v1/audit/verify")

    def audit_public_key(self) -> dict[str, Any]:
        return self._object("GET", "/v1/audit/public_key")


__all__ = ["AuditClient"]
