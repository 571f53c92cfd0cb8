"""Work handed from a threaded server's workers to the service's event loop.

A worker that finished a request must not wait for the loop, and waking the
loop once per request costs both threads a switch: items are queued and the
loop drains them in batches, woken at most once per ``delay``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")

DELAY_S = 0.005


class Handoff(Generic[T]):
    """``put`` from any thread; ``run(item)`` is awaited on ``loop`` for each
    item, in order, then ``done()`` (also for an item the closed loop can no
    longer take)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        run: Callable[[T], Awaitable[None]],
        done: Callable[[], None],
        *,
        delay: float = DELAY_S,
    ) -> None:
        self._loop = loop
        self._run = run
        self._done = done
        self._delay = delay
        self._items: deque[T] = deque()
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    def put(self, item: T) -> None:
        self._items.append(item)
        if self._scheduled:
            return  # a drain is due and will take it: it clears the flag before taking
        self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._later)
        except RuntimeError:  # the loop is closed: nothing will run any more
            self._scheduled = False
            self._abandon()

    def _later(self) -> None:
        self._loop.call_later(self._delay, self._start)

    def _start(self) -> None:
        self._scheduled = False
        task = self._loop.create_task(self._drain())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        items = self._items
        while True:
            try:
                item = items.popleft()
            except IndexError:
                return
            try:
                await self._run(item)
            finally:
                self._done()

    def _abandon(self) -> None:
        while True:
            try:
                self._items.popleft()
            except IndexError:
                return
            self._done()


__all__ = ["Handoff"]
