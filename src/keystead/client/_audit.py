"""The calls of the audit log: list, verify, the signing key. Following the
cursor (``iter_audit``, ``export_audit``) is each client's own."""

from __future__ import annotations

from typing import Any

from keystead.client._call import Call, compact, endpoint, get, read_object

EXPORT_PAGE = 1000


class AuditApi:
    @endpoint(("GET", "/v1/audit"))
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
    ) -> Call[dict[str, Any]]:
        """One page, newest first: ``{"items": [...], "next_cursor": ...}``."""
        params = compact(actor=actor, action=action, target=target, cursor=cursor, limit=limit)
        params.update(compact(**{"from": since, "to": until}))
        return get("/v1/audit", read_object, **params)

    @endpoint(("GET", "/v1/audit/verify"))
    def verify_audit(self) -> Call[dict[str, Any]]:
        return get("/v1/audit/verify", read_object)

    @endpoint(("GET", "/v1/audit/public_key"))
    def audit_public_key(self) -> Call[dict[str, Any]]:
        return get("/v1/audit/public_key", read_object)


def by_seq(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chain oldest first (as ``keystead audit export`` writes it)."""
    return sorted(entries, key=lambda e: int(e["seq"]))


__all__ = ["EXPORT_PAGE", "AuditApi", "by_seq"]
