"""A signed-in dashboard for the APIs and keys tests: ``webkit``'s client,
signed in through the real form with a root key of chosen permissions, and
the session's CSRF token at hand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from keystead.core.authz import Principal
from keystead.service import Keystead

from .webkit import open_browser


@dataclass
class Browser:
    """One signed-in browser: its client keeps the session cookie."""

    ks: Keystead
    client: httpx.AsyncClient
    csrf: str
    operator: Principal

    async def post(self, url: str, data: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(url, data={"csrf": self.csrf, **(data or {})})


@asynccontextmanager
async def browser(ks: Keystead, permissions: Sequence[str] = ("*",)) -> AsyncIterator[Browser]:
    """A browser signed in with a new root key holding ``permissions``."""
    async with open_browser(ks) as opened:
        created = await ks.root_keys.create(opened.operator, name="web", permissions=permissions)
        signed = await opened.sign_in(created.plaintext, next_url="/ui/keys")
        assert signed.status_code == 303, signed.text
        csrf = await opened.csrf("/ui/keys")
        yield Browser(ks, opened.client, csrf, opened.operator)


__all__ = ["Browser", "browser"]
