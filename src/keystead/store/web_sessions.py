"""The store interface of browser sessions, portal links and portal branding.

Sessions and links are found by the keyed hash of their token only (the token
itself is never stored). ``redeem_portal_link`` is the one-time step: of two
concurrent redemptions of a link, exactly one gets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(slots=True, frozen=True)
class WebSessionRecord:
    id: str
    token_hash: bytes
    area: str
    """``ui`` (dashboard) or ``portal``."""
    workspace_id: str
    actor: str
    permissions: tuple[str, ...]
    api_ids: tuple[str, ...] | None
    owner_id: str | None
    root_key_id: str | None
    """The root key the session stands on (signed in with, or that made the portal
    link): revoking it ends the session. None for the local operator."""
    return_url: str | None
    created_at: float
    expires_at: float
    idle_expires_at: float
    last_seen: float
    ip: str | None = None
    user_agent: str | None = None
    root_key_revoked: bool = False
    """Read only: whether ``root_key_id`` is revoked (or gone) now."""


@dataclass(slots=True, frozen=True)
class PortalLinkRecord:
    id: str
    token_hash: bytes
    workspace_id: str
    owner_id: str
    permissions: tuple[str, ...]
    api_ids: tuple[str, ...] | None
    return_url: str | None
    created_by: str
    root_key_id: str | None
    created_at: float
    expires_at: float
    used_at: float | None = None


class WebSessionStore(Protocol):
    async def insert_web_session(self, session: WebSessionRecord) -> None: ...

    async def find_web_session(self, token_hash: bytes) -> WebSessionRecord | None:
        """The session (with ``root_key_revoked`` filled in), or None."""
        ...

    async def touch_web_session(
        self, session_id: str, last_seen: float, idle_expires_at: float
    ) -> None: ...

    async def delete_web_session(self, token_hash: bytes) -> WebSessionRecord | None:
        """Delete and return the session, None when there was none."""
        ...

    async def insert_portal_link(self, link: PortalLinkRecord) -> None: ...

    async def redeem_portal_link(self, token_hash: bytes, now: float) -> PortalLinkRecord | None:
        """Mark the link used and return it, only if it is unused and unexpired at
        ``now``; atomic, so a second (even concurrent) redemption gets None."""
        ...

    async def get_portal_branding(self, workspace_id: str) -> dict[str, Any] | None: ...

    async def put_portal_branding(
        self, workspace_id: str, branding: dict[str, Any], at: float
    ) -> None: ...

    async def purge_web_sessions(self, now: float) -> int:
        """Delete expired sessions and used or expired portal links; how many."""
        ...


__all__ = ["PortalLinkRecord", "WebSessionRecord", "WebSessionStore"]
