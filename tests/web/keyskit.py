"""A signed-in dashboard over the ``keystead`` fixture, for the APIs and keys
pages: an in-process client, the session's CSRF token, and small helpers."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from keystead.core.authz import Principal
from keystead.http import create_app
from keystead.service import Keystead

BASE_URL = "http://keystead.test"
_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_FIELD_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Browser:
    """One signed-in browser: its client keeps the session cookie."""

    ks: Keystead
    client: httpx.AsyncClient
    csrf: str
    operator: Principal

    async def post(self, url: str, data: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(url, data={"csrf": self.csrf, **(data or {})})


async def sign_in(client: httpx.AsyncClient, root_key: str) -> str:
    """Sign in through the page's form; returns the session's CSRF token."""
    shown = await client.get("/ui/sign-in")
    assert shown.status_code == 200, shown.text
    pre = _FIELD_CSRF.search(shown.text)
    assert pre is not None
    done = await client.post(
        "/ui/sign-in",
        data={"csrf": html.unescape(pre.group(1)), "root_key": root_key, "next": "/ui/keys"},
    )
    assert done.status_code == 303, done.text
    page = await client.get("/ui/keys")
    assert page.status_code == 200, page.text
    found = _META_CSRF.search(page.text)
    assert found is not None
    return html.unescape(found.group(1))


@dataclass(frozen=True)
class _Session:
    id: str
    area: str
    workspace_id: str
    principal: Principal
    owner_id: str | None
    csrf_token: str
    return_url: str | None = None


@dataclass(frozen=True)
class _Branding:
    name: str = "Keystead"
    logo_url: str | None = None
    accent: str = "#2457c5"


class _StandInSessions:
    """Until the service has ``web_sessions``: root key -> in-memory session."""

    def __init__(self, ks: Keystead) -> None:
        self._ks = ks
        self._live: dict[str, _Session] = {}

    async def sign_in(self, credential: str, **_: Any) -> tuple[str, _Session]:
        principal = await self._ks.root_keys.authenticate(credential)
        token = secrets.token_urlsafe(32)
        session = _Session(
            token[:8], "ui", principal.workspace_id, principal, None, secrets.token_urlsafe(32)
        )
        self._live[token] = session
        return token, session

    async def resume(self, token: str, *, area: str) -> _Session | None:
        found = self._live.get(token)
        return found if found is not None and found.area == area else None

    async def sign_out(self, token: str) -> None:
        self._live.pop(token, None)

    async def branding(self, workspace_id: str) -> _Branding:
        return _Branding()


@asynccontextmanager
async def browser(
    ks: Keystead, permissions: Sequence[str] = ("*",), owner_id: str | None = None
) -> AsyncIterator[Browser]:
    """A browser signed in with a new root key holding ``permissions``."""
    if not hasattr(ks, "web_sessions"):
        ks.web_sessions = _StandInSessions(ks)  # type: ignore[attr-defined]
    operator = await ks.workspaces.local_operator()
    created = await ks.root_keys.create(
        operator, name="web", permissions=permissions, owner_id=owner_id
    )
    transport = httpx.ASGITransport(app=create_app(ks))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        csrf = await sign_in(client, created.plaintext)
        yield Browser(ks, client, csrf, operator)


__all__ = ["BASE_URL", "Browser", "browser", "sign_in"]
