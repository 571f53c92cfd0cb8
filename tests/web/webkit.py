"""Support for the browser-face tests: an in-process client over ``create_app`` and
helpers that sign in through the real form (no browser: tests/browser drives one)."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from keystead.core.authz import Principal
from keystead.http import create_app
from keystead.service import Keystead

BASE_URL = "http://keystead.test"
_CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Browser:
    """A cookie-keeping client of one service, with an all-powerful root key."""

    ks: Keystead
    client: httpx.AsyncClient
    root_key: str
    operator: Principal

    async def sign_in(
        self, key: str | None = None, *, next_url: str | None = None
    ) -> httpx.Response:
        """Load the sign-in form, then post ``key`` with the form's token."""
        form = await self.client.get("/ui/sign-in")
        assert form.status_code == 200, form.text
        data = {"csrf": form_token(form.text), "root_key": key or self.root_key}
        if next_url is not None:
            data["next"] = next_url
        return await self.client.post("/ui/sign-in", data=data)

    async def csrf(self, path: str = "/ui/") -> str:
        """The session's CSRF token, as a page carries it."""
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
        assert found is not None
        return found.group(1)


def form_token(html: str) -> str:
    found = _CSRF_FIELD.search(html)
    assert found is not None, html
    return found.group(1)


@asynccontextmanager
async def open_browser(ks: Keystead, *, base_url: str = BASE_URL) -> AsyncIterator[Browser]:
    operator = await ks.workspaces.local_operator()
    created = await ks.root_keys.create(operator, name="web test root")
    # a fresh client address per browser: failed sign-ins are counted per IP, and
    # a Redis limiter keeps those counts across tests
    ip = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"
    transport = httpx.ASGITransport(app=create_app(ks), client=(ip, 50000))
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield Browser(ks, client, created.plaintext, operator)


def set_cookie_headers(response: httpx.Response, name: str) -> list[str]:
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
