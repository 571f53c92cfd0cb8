"""Real HTTP receivers for webhook tests: a tiny HTTP/1.1 server on a free
loopback port that records every request and answers as told (status, delay).

``Receiver`` runs on the test's event loop; ``ThreadedReceiver`` runs one on a
loop of its own, for synchronous tests (the CLI against a server process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Answer = Callable[[int], tuple[int, float]]
"""``answer(n)`` for the n-th request (0-based): (status, seconds to wait first)."""


def always(status: int) -> Answer:
    return lambda _n: (status, 0.0)


OK = always(200)


def failing_first(times: int, status: int = 500) -> Answer:
    """``status`` for the first ``times`` requests, then 200."""
    return lambda n: (status, 0.0) if n < times else (200, 0.0)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, answer: Answer = OK) -> None:
        self.answer = answer
        self.requests: list[Received] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Received]:
        """Poll until ``count`` requests arrived (or fail after ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"{len(self.requests)} of {count} requests came"
            await asyncio.sleep(0.02)
        return self.requests

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _version = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            index = len(self.requests)
            self.requests.append(Received(method, path, headers, body, time.monotonic()))
            status, delay = self.answer(index)
            if delay:
                await asyncio.sleep(delay)
            reply = json.dumps({"seen": index}).encode()
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                f"content-length: {len(reply)}\r\nconnection: close\r\n\r\n".encode()
                + reply
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class ThreadedReceiver:
    """A :class:`Receiver` on its own event loop in a thread."""

    def __init__(self, answer: Answer = OK) -> None:
        self.receiver = Receiver(answer)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return self.receiver.url

    @property
    def requests(self) -> list[Received]:
        return self.receiver.requests

    def __enter__(self) -> ThreadedReceiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.receiver.__aenter__(), self._loop).result(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.receiver.__aexit__(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def wait_for(self, count: int, timeout_s: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while len(self.receiver.requests) < count:
            assert time.monotonic() < deadline, f"{len(self.receiver.requests)} of {count} came"
            time.sleep(0.05)
        return self.receiver.requests


__all__ = ["Answer", "Received", "Receiver", "ThreadedReceiver", "always", "failing_first"]
