"""Browser sessions of the dashboard (``ui``) and the self-service portal.

A dashboard session is signed in with a root key (a service token is a root key
with narrow grants) and acts with exactly its principal. A portal session comes
from a one-time link a provider made for one owner: its principal is narrowed to
that owner and holds at most the link's permissions, themselves within the
creating root key's. Sessions live in the store, so every node resumes them;
their token is only ever stored as its keyed hash, and the CSRF token is derived
(an HMAC of the session id under a key derived from the server secret).

Failed sign-ins and failed link redemptions spend the client IP's failed-attempts
allowance, the one failed verifications spend; a blocked IP is refused before
any lookup.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from keystead.core.authz import Principal
from keystead.core.hashing import KeyHasher
from keystead.core.ids import new_id
from keystead.core.models import Code, CreatedKey
from keystead.core.permissions import GrantSet
from keystead.core.verify import NOT_FOUND
from keystead.errors import TooManyAttempts, Unauthorized
from keystead.service import fields
from keystead.service.context import ServiceContext
from keystead.service.guard import FailedAttempts
from keystead.service.keys import KeyService
from keystead.service.portal_fields import (
    PORTAL_PERMISSIONS,
    Branding,
    branding_from,
    https_url,
    link_api_ids,
    link_permissions,
    updated_branding,
)
from keystead.service.portal_keys import create_portal_key
from keystead.service.root_keys import RootKeyService
from keystead.store.web_sessions import PortalLinkRecord, WebSessionRecord

Area = Literal["ui", "portal"]
PORTAL_PREFIX = "ksportal"
TOUCH_EVERY_S = 60.0
"""``last_seen`` (and the idle expiry) is written at most this often per session."""
_MAX_TOKEN = 200
_CSRF_INFO = b"keystead web csrf v1"
_ROOT_ACTOR = "root_key:"
_SIGN_IN_FAILED = "a valid root key is required"
_LINK_FAILED = "this portal link is invalid, used or expired"
_BLOCKED = "too many failed attempts from this address; try again later"


@dataclass(frozen=True, slots=True)
class WebSession:
    id: str
    area: Area
    workspace_id: str
    principal: Principal
    owner_id: str | None
    csrf_token: str
    created_at: float
    expires_at: float
    idle_expires_at: float
    return_url: str | None


@dataclass(frozen=True, slots=True)
class PortalLink:
    url: str
    """``{base_url}/portal/enter?token=ksportal_...``: shown once, never stored."""
    expires_at: datetime
    owner_id: str


class WebSessions:
    def __init__(
        self,
        ctx: ServiceContext,
        root_keys: RootKeyService,
        guard: FailedAttempts,
        secret: bytes,
        keys: KeyService,
    ) -> None:
        self._ctx = ctx
        self._keys = keys
        self._root_keys = root_keys
        self._guard = guard
        self._csrf_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=_CSRF_INFO
        ).derive(secret)
        # session and link tokens: short-lived, hashed under the secret file's
        # version (1) whatever the newest key-hashing version is, so a rotation
        # signs nobody out (docs/operations.md, "Rotating the server secret")
        self._hasher = KeyHasher(secret)

    def csrf_token(self, session_id: str) -> str:
        mac = hmac.new(self._csrf_key, session_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    async def sign_in(
        self, credential: str, *, ip: str | None, user_agent: str | None
    ) -> tuple[str, WebSession]:
        """A dashboard session for a root key: ``(token, session)``; Unauthorized
        for any bad credential, TooManyAttempts once the IP spent its allowance."""
        self._refuse_blocked(ip)
        try:
            principal = await self._root_keys.authenticate(credential)
        except Unauthorized:
            await self._failed(ip)
            raise Unauthorized(_SIGN_IN_FAILED) from None
        now = self._ctx.clock.now()
        settings = self._ctx.settings
        expires = now + settings.web_session_max_s
        return await self._open(
            "ui",
            principal,
            root_key_id=_root_key_id(principal),
            return_url=None,
            expires_at=expires,
            ip=ip,
            user_agent=user_agent,
            action="web.sign_in",
            target=("web_session", None),
        )

    async def resume(self, token: str, *, area: Area) -> WebSession | None:
        """The live session of ``token`` in ``area``, else None (unknown, other
        area, idle or absolutely expired, or its root key revoked)."""
        if not isinstance(token, str) or not 0 < len(token) <= _MAX_TOKEN:
            return None
        record = await self._ctx.store.find_web_session(self._hasher.hash(token))
        if record is None or record.area != area or record.root_key_revoked:
            return None
        now = self._ctx.clock.now()
        if now >= record.expires_at or now >= record.idle_expires_at:
            return None
        idle_until = record.idle_expires_at
        if now - record.last_seen >= TOUCH_EVERY_S:
            idle_until = min(now + self._ctx.settings.web_session_idle_s, record.expires_at)
            await self._ctx.store.touch_web_session(record.id, now, idle_until)
        return self._session(record, idle_until)

    async def sign_out(self, token: str) -> None:
        """End the session of ``token`` (nothing happens for an unknown one)."""
        if not isinstance(token, str) or not 0 < len(token) <= _MAX_TOKEN:
            return
        digest = self._hasher.hash(token)
        record = await self._ctx.store.find_web_session(digest)
        if record is None:
            return
        self._ctx.audit(_principal(record), "web.sign_out", "web_session", record.id)
        await self._ctx.store.delete_web_session(digest)

    async def create_portal_link(
        self,
        principal: Principal,
        owner_id: str,
        *,
        permissions: Sequence[str] | None = None,
        api_ids: Sequence[str] | None = None,
        return_url: str | None = None,
    ) -> PortalLink:
        """A one-time link into ``owner_id``'s portal, redeemable for
        ``portal_link_ttl_s``. Its permissions default to ``PORTAL_PERMISSIONS``
        (those of them the caller holds) and are never wider than the caller's."""
        principal.require("portal.create")
        wanted = fields.required_text(owner_id, "owner_id")
        owner = principal.owner_within(wanted) or wanted
        granted = link_permissions(principal, permissions)
        apis = link_api_ids(principal, api_ids)
        back = None if return_url is None else https_url(return_url, "return_url", allow_http=True)
        now = self._ctx.clock.now()
        token = f"{PORTAL_PREFIX}_{secrets.token_urlsafe(32)}"
        link = PortalLinkRecord(
            id=new_id("psl", now),
            token_hash=self._hasher.hash(token),
            workspace_id=principal.workspace_id,
            owner_id=owner,
            permissions=granted,
            api_ids=apis,
            return_url=back,
            created_by=principal.actor,
            root_key_id=_root_key_id(principal),
            created_at=now,
            expires_at=now + self._ctx.settings.portal_link_ttl_s,
        )
        self._ctx.audit(
            principal,
            "portal.link_create",
            "portal_link",
            link.id,
            after={
                "owner_id": owner,
                "permissions": list(granted),
                "api_ids": None if apis is None else list(apis),
                "return_url": back,
                "expires_at": _when(link.expires_at),
            },
        )
        await self._ctx.store.insert_portal_link(link)
        url = f"{self._ctx.settings.base_url()}/portal/enter?token={token}"
        return PortalLink(url=url, expires_at=_when(link.expires_at), owner_id=owner)

    async def redeem_portal_link(
        self, token: str, *, ip: str | None, user_agent: str | None
    ) -> tuple[str, WebSession]:
        """Exchange a portal link's token for a portal session, once."""
        self._refuse_blocked(ip)
        link = None
        if (
            isinstance(token, str)
            and len(token) <= _MAX_TOKEN
            and token.startswith(PORTAL_PREFIX + "_")
        ):
            link = await self._ctx.store.redeem_portal_link(
                self._hasher.hash(token), self._ctx.clock.now()
            )
        if link is None:
            await self._failed(ip)
            raise Unauthorized(_LINK_FAILED)
        principal = Principal(
            workspace_id=link.workspace_id,
            actor=f"portal:{link.owner_id}",
            grants=GrantSet(link.permissions),
            api_ids=None if link.api_ids is None else frozenset(link.api_ids),
            owner_id=link.owner_id,
        )
        now = self._ctx.clock.now()
        return await self._open(
            "portal",
            principal,
            root_key_id=link.root_key_id,
            return_url=link.return_url,
            expires_at=now + self._ctx.settings.portal_session_max_s,
            ip=ip,
            user_agent=user_agent,
            action="portal.enter",
            target=("portal_link", link.id),
        )

    async def branding(self, workspace_id: str) -> Branding:
        """The workspace's portal branding; the defaults when never set."""
        return branding_from(await self._ctx.store.get_portal_branding(workspace_id))

    async def set_branding(self, principal: Principal, branding: Mapping[str, Any]) -> Branding:
        """Change the given fields (None restores a field's default)."""
        principal.require_whole_workspace(
            "portal.configure", "the portal's branding belongs to the whole workspace"
        )
        current = await self.branding(principal.workspace_id)
        updated = updated_branding(current, branding)
        self._ctx.audit(
            principal,
            "portal.branding_update",
            "workspace",
            principal.workspace_id,
            before=current.as_dict(),
            after=updated.as_dict(),
        )
        await self._ctx.store.put_portal_branding(
            principal.workspace_id, updated.as_dict(), self._ctx.clock.now()
        )
        return updated

    async def create_portal_key(self, principal: Principal, spec: Mapping[str, Any]) -> CreatedKey:
        """A key for a portal principal's owner: ``api_id`` and ``name`` from the
        customer, the rest from the portal's ``key_defaults``; Conflict (409) once
        the owner holds ``max_keys_per_owner`` live keys."""
        branding = await self.branding(principal.workspace_id)
        return await create_portal_key(self._ctx, self._keys, branding, principal, spec)

    async def purge(self) -> int:
        """Delete expired sessions and used or expired links (the scheduler's pass)."""
        return await self._ctx.store.purge_web_sessions(self._ctx.clock.now())

    async def _open(
        self,
        area: Area,
        principal: Principal,
        *,
        root_key_id: str | None,
        return_url: str | None,
        expires_at: float,
        ip: str | None,
        user_agent: str | None,
        action: str,
        target: tuple[str, str | None],
    ) -> tuple[str, WebSession]:
        now = self._ctx.clock.now()
        token = secrets.token_urlsafe(32)
        record = WebSessionRecord(
            id=new_id("wss", now),
            token_hash=self._hasher.hash(token),
            area=area,
            workspace_id=principal.workspace_id,
            actor=principal.actor,
            permissions=principal.grants.grants,
            api_ids=None if principal.api_ids is None else tuple(sorted(principal.api_ids)),
            owner_id=principal.owner_id,
            root_key_id=root_key_id,
            return_url=return_url,
            created_at=now,
            expires_at=expires_at,
            idle_expires_at=min(now + self._ctx.settings.web_session_idle_s, expires_at),
            last_seen=now,
            ip=None if ip is None else ip[:64],
            user_agent=None if user_agent is None else user_agent[:512],
        )
        kind, ident = target
        self._ctx.audit(
            principal,
            action,
            kind,
            ident or record.id,
            after={"session_id": record.id, "ip": record.ip, "expires_at": _when(expires_at)},
        )
        await self._ctx.store.insert_web_session(record)
        return token, self._session(record, record.idle_expires_at, principal)

    def _session(
        self, record: WebSessionRecord, idle_until: float, principal: Principal | None = None
    ) -> WebSession:
        return WebSession(
            id=record.id,
            area="portal" if record.area == "portal" else "ui",
            workspace_id=record.workspace_id,
            principal=principal or _principal(record),
            owner_id=record.owner_id,
            csrf_token=self.csrf_token(record.id),
            created_at=record.created_at,
            expires_at=record.expires_at,
            idle_expires_at=idle_until,
            return_url=record.return_url,
        )

    def _refuse_blocked(self, ip: str | None) -> None:
        if ip is None or not self._guard.enabled:
            return
        refused = self._guard.refusal(ip, self._ctx.clock.now())
        if refused is not None:
            raise TooManyAttempts(_BLOCKED, retry_after=refused.retry_after)

    async def _failed(self, ip: str | None) -> None:
        if ip is None or not self._guard.enabled:
            return
        verdict = await self._guard.record(ip, NOT_FOUND, self._ctx.clock.now())
        if verdict.code is Code.RATE_LIMITED:
            raise TooManyAttempts(_BLOCKED, retry_after=verdict.retry_after)


def _principal(record: WebSessionRecord) -> Principal:
    return Principal(
        workspace_id=record.workspace_id,
        actor=record.actor,
        grants=GrantSet(record.permissions),
        api_ids=None if record.api_ids is None else frozenset(record.api_ids),
        owner_id=record.owner_id,
    )


def _root_key_id(principal: Principal) -> str | None:
    actor = principal.actor
    return actor[len(_ROOT_ACTOR) :] if actor.startswith(_ROOT_ACTOR) else None


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


__all__ = ["PORTAL_PERMISSIONS", "Branding", "PortalLink", "WebSession", "WebSessions"]
