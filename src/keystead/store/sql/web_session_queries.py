"""SQL queries of browser sessions, portal links and branding
(``store.web_sessions.WebSessionStore``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from keystead.store.sql.base import SqlBase
from keystead.store.sql.tables import portal_branding, portal_links, root_keys, web_sessions
from keystead.store.web_sessions import PortalLinkRecord, WebSessionRecord

_s = web_sessions
_l = portal_links
_b = portal_branding


class WebSessionQueries(SqlBase):
    async def insert_web_session(self, session: WebSessionRecord) -> None:
        values = asdict(session)
        del values["root_key_revoked"]
        values["permissions"] = list(session.permissions)
        values["api_ids"] = None if session.api_ids is None else list(session.api_ids)
        async with self._tx() as c:
            await c.execute(_s.insert().values(**values))

    async def find_web_session(self, token_hash: bytes) -> WebSessionRecord | None:
        revoked = sa.and_(
            _s.c.root_key_id.is_not(None),
            sa.or_(root_keys.c.id.is_(None), root_keys.c.revoked_at.is_not(None)),
        )
        stmt = (
            sa.select(_s, revoked.label("root_key_revoked"))
            .join_from(_s, root_keys, root_keys.c.id == _s.c.root_key_id, isouter=True)
            .where(_s.c.token_hash == token_hash)
        )
        row = await self._one(stmt)
        return None if row is None else _session(row)

    async def touch_web_session(
        self, session_id: str, last_seen: float, idle_expires_at: float
    ) -> None:
        async with self._tx() as c:
            await c.execute(
                _s.update()
                .where(_s.c.id == session_id)
                .values(last_seen=last_seen, idle_expires_at=idle_expires_at)
            )

    async def delete_web_session(self, token_hash: bytes) -> WebSessionRecord | None:
        async with self._tx() as c:
            row = (await c.execute(sa.select(_s).where(_s.c.token_hash == token_hash))).first()
            if row is None:
                return None
            await c.execute(_s.delete().where(_s.c.id == row.id))
        return _session(row)

    async def insert_portal_link(self, link: PortalLinkRecord) -> None:
        values = asdict(link)
        values["permissions"] = list(link.permissions)
        values["api_ids"] = None if link.api_ids is None else list(link.api_ids)
        async with self._tx() as c:
            await c.execute(_l.insert().values(**values))

    async def redeem_portal_link(self, token_hash: bytes, now: float) -> PortalLinkRecord | None:
        usable = (_l.c.token_hash == token_hash) & _l.c.used_at.is_(None) & (_l.c.expires_at > now)
        async with self._tx() as c:
            # the conditional UPDATE is the claim: of two concurrent ones, one matches
            claimed = await c.execute(_l.update().where(usable).values(used_at=now))
            if claimed.rowcount != 1:
                return None
            row = (await c.execute(sa.select(_l).where(_l.c.token_hash == token_hash))).first()
        return None if row is None else _link(row)

    async def get_portal_branding(self, workspace_id: str) -> dict[str, Any] | None:
        row = await self._one(sa.select(_b.c.branding).where(_b.c.workspace_id == workspace_id))
        return None if row is None else dict(row.branding)

    async def put_portal_branding(
        self, workspace_id: str, branding: dict[str, Any], at: float
    ) -> None:
        async with self._tx() as c:
            changed = await c.execute(
                _b.update()
                .where(_b.c.workspace_id == workspace_id)
                .values(branding=branding, updated_at=at)
            )
            if changed.rowcount == 0:
                await c.execute(
                    _b.insert().values(workspace_id=workspace_id, branding=branding, updated_at=at)
                )

    async def purge_web_sessions(self, now: float) -> int:
        async with self._tx() as c:
            gone = await c.execute(
                _s.delete().where((_s.c.expires_at <= now) | (_s.c.idle_expires_at <= now))
            )
            links = await c.execute(
                _l.delete().where(_l.c.used_at.is_not(None) | (_l.c.expires_at <= now))
            )
        return int(gone.rowcount or 0) + int(links.rowcount or 0)


def _ids(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


def _session(row: sa.Row[Any]) -> WebSessionRecord:
    m = row._mapping
    return WebSessionRecord(
        id=m["id"],
        token_hash=bytes(m["token_hash"]),
        area=m["area"],
        workspace_id=m["workspace_id"],
        actor=m["actor"],
        permissions=tuple(m["permissions"]),
        api_ids=_ids(m["api_ids"]),
        owner_id=m["owner_id"],
        root_key_id=m["root_key_id"],
        return_url=m["return_url"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        idle_expires_at=m["idle_expires_at"],
        last_seen=m["last_seen"],
        ip=m["ip"],
        user_agent=m["user_agent"],
        root_key_revoked=bool(m.get("root_key_revoked", False)),
    )


def _link(row: sa.Row[Any]) -> PortalLinkRecord:
    m = row._mapping
    return PortalLinkRecord(
        id=m["id"],
        token_hash=bytes(m["token_hash"]),
        workspace_id=m["workspace_id"],
        owner_id=m["owner_id"],
        permissions=tuple(m["permissions"]),
        api_ids=_ids(m["api_ids"]),
        return_url=m["return_url"],
        created_by=m["created_by"],
        root_key_id=m["root_key_id"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        used_at=m["used_at"],
    )


__all__ = ["WebSessionQueries"]
