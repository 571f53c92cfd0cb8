"""A browser in one owner's portal: a link made through the service, opened
and redeemed through the real enter form, the session's CSRF token at hand."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from keystead.core.authz import Principal
from keystead.service import Keystead

from .webkit import form_token, open_browser

_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@dataclass
class Portal:
    ks: Keystead
    client: httpx.AsyncClient
    csrf: str
    operator: Principal

    async def post(self, url: str, data: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(url, data={"csrf": self.csrf, **(data or {})})


@asynccontextmanager
async def portal(
    ks: Keystead,
    owner_id: str,
    *,
    permissions: Sequence[str] | None = None,
    api_ids: Sequence[str] | None = None,
    return_url: str | None = None,
) -> AsyncIterator[Portal]:
    """A client holding ``owner_id``'s portal session."""
    async with open_browser(ks) as b:
        link = await ks.web_sessions.create_portal_link(
            b.operator, owner_id, permissions=permissions, api_ids=api_ids, return_url=return_url
        )
        target = urlsplit(link.url)
        enter = await b.client.get(f"{target.path}?{target.query}")
        token = link.url.split("token=", 1)[1]
        entered = await b.client.post(
            "/portal/enter", data={"csrf": form_token(enter.text), "token": token}
        )
        assert entered.status_code == 303, entered.text
        home = await b.client.get("/portal/")
        assert home.status_code == 200, home.text
        found = _META_CSRF.search(home.text)
        assert found is not None
        yield Portal(ks, b.client, found.group(1), b.operator)


__all__ = ["Portal", "portal"]
