"""A usage record of an unknown key presented from one IP: what brute_force
rules count."""

from __future__ import annotations

from keystead.core.usage import UsageRecord


def failed_auth(workspace_id: str, at: float, ip: str) -> UsageRecord:
    return UsageRecord(
        at=at,
        workspace_id=workspace_id,
        api_id=None,
        key_id=None,
        owner_id=None,
        code="NOT_FOUND",
        ip=ip,
    )
