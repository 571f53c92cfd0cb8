"""The calls of rotation: rotate one key, or every key a policy says is due."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from keystead.client._call import Call, compact, endpoint, post, read_object, seg


class RotationApi:
    @endpoint(("POST", "/v1/keys/{key_id}/rotate"))
    def rotate_key(
        self,
        key_id: str,
        *,
        grace_period_s: int | None = None,
        old_expires_at: str | datetime | None = None,
    ) -> Call[dict[str, Any]]:
        """The successor (its plaintext ``key`` shown this once), ``grace_ends_at``
        and ``old_key``. ``grace_period_s=0`` is an emergency rotation."""
        if isinstance(old_expires_at, datetime):
            old_expires_at = old_expires_at.isoformat()
        body = compact(grace_period_s=grace_period_s, old_expires_at=old_expires_at)
        return post(f"/v1/keys/{seg(key_id)}/rotate", read_object, body)

    @endpoint(("POST", "/v1/keys/rotate_due"))
    def rotate_due(self, *, dry_run: bool = False) -> Call[dict[str, Any]]:
        """Rotate (or, with ``dry_run``, list) the keys whose policy says they are due."""
        return post("/v1/keys/rotate_due", read_object, {"dry_run": dry_run})


__all__ = ["RotationApi"]
