"""A real Keystead server for the client tests: uvicorn in a thread, on a free
loopback port, serving the HTTP app over a real store (the ``settings`` of the
shared backend table)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from keystead.config import Settings
from keystead.http.app import create_app
from keystead.service import Keystead

STARTUP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class LiveServer:
    url: str
    root_key: str
    settings: Settings


async def _first_root_key(settings: Settings) -> str:
    async with await Keystead.open(settings=settings) as ks:
        return (await ks.workspaces.init()).root_key.plaintext


@contextmanager
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """Initialise the store (its first root key), then serve it until the block ends."""
    root_key = asyncio.run(_first_root_key(settings))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings=settings),
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        yield LiveServer(f"http://127.0.0.1:{port}", root_key, settings)
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


__all__ = ["LiveServer", "live_server"]
