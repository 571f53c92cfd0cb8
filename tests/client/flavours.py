"""Run one client call on the sync or the async client, so a test covers both."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from keystead.client import AsyncClient, Client

ROOT_KEY = "ksroot_" + "S" * 38
FAST: dict[str, Any] = {"backoff_base_s": 0.001, "backoff_cap_s": 0.002}
FLAVOURS = [pytest.param("sync", id="sync"), pytest.param("async", id="async")]


async def call(flavour: str, url: str, method: str, *args: Any, **options: Any) -> Any:
    """``method(*args)`` on a fresh client of ``url`` (options: the client's)."""
    if flavour == "sync":

        def run() -> Any:
            with Client(url, ROOT_KEY, **options) as client:
                return getattr(client, method)(*args)

        return await asyncio.to_thread(run)
    async with AsyncClient(url, ROOT_KEY, **options) as client:
        return await getattr(client, method)(*args)


__all__ = ["FAST", "FLAVOURS", "ROOT_KEY", "call"]
