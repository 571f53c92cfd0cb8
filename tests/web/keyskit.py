"""A signed-in dashboard over the ``keystead`` fixture, for the APIs and keys
pages: an in-process client, the session's CSRF token, and small helpers."""

from __future__ import annotations

import html
import re
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


@asynccontextmanager
async def browser(
    ks: Keystead, permissions: Sequence[str] = ("*",), owner_id: str | None = None
) -> AsyncIterator[Browser]:
    """A browser signed in with a new root key holding ``permissions``."""
    operator = await ks.workspaces.local_operator()
    created = await ks.root_keys.create(
        operator, name="web", permissions=permissions, owner_id=owner_id
    )
    transport = httpx.ASGITransport(app=create_app(ks))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        csrf = await sign_in(client, created.plaintext)
        yield Browser(ks, client, csrf, operator)


__all__ = ["BASE_URL", "Browser", "browser", "sign_in"]
