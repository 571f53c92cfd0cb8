"""A blocking facade over the async service, for scripts and notebooks.

The service runs on a private event loop in a daemon thread; each call blocks
until its coroutine finishes there. ``SyncKeystead.open(url)`` mirrors
``await Keystead.open(url)``, and ``ks.keys.create(...)`` mirrors
``await ks.keys.create(...)``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from keystead.core.authz import Principal
from keystead.core.models import VerifyContext
from keystead.core.verify import Verdict
from keystead.limits import RateLimit
from keystead.service import Keystead

T = TypeVar("T")


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="keystead-sync", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class _Blocking:
    """Wraps a sub-service: every coroutine method becomes a blocking one."""

    def __init__(self, target: object, runner: _LoopThread) -> None:
        self._target = target
        self._runner = runner

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._target, name)
        if not callable(method) or name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._runner.run(method(*args, **kwargs))

        return call


class SyncKeystead:
    def __init__(self, service: Keystead, runner: _LoopThread) -> None:
        self.service = service
        self._runner = runner
        self.keys = _Blocking(service.keys, runner)
        self.apis = _Blocking(service.apis, runner)
        self.workspaces = _Blocking(service.workspaces, runner)
        self.root_keys = _Blocking(service.root_keys, runner)
        self.plans = _Blocking(service.plans, runner)
        self.owners = _Blocking(service.owners, runner)
        self.rotation = _Blocking(service.rotation, runner)
        self.scheduler = _Blocking(service.scheduler, runner)
        self.pickups = _Blocking(service.pickups, runner)
        self.actions = _Blocking(service.actions, runner)
        self.incidents = _Blocking(service.incidents, runner)
        self.webhooks = _Blocking(service.webhooks, runner)
        self.usage = _Blocking(service.usage, runner)
        self.analytics = _Blocking(service.analytics, runner)
        self.alerts = _Blocking(service.alerts, runner)
        self.audit = _Blocking(service.audit, runner)

    @classmethod
    def open(cls, database_url: str | None = None, **options: Any) -> Self:
        runner = _LoopThread()
        try:
            service = runner.run(Keystead.open(database_url, **options))
        except BaseException:
            runner.stop()
            raise
        return cls(service, runner)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the service runs on (a daemon thread's): hand it work
        with ``asyncio.run_coroutine_threadsafe`` to not wait for the result."""
        return self._runner.loop

    def verify(
        self,
        key: str,
        context: VerifyContext | None = None,
        *,
        principal: Principal | None = None,
        cost: int = 1,
        ratelimits: Sequence[RateLimit] = (),
        record: bool = True,
    ) -> Verdict:
        return self._runner.run(
            self.service.verify(
                key,
                context,
                principal=principal,
                cost=cost,
                ratelimits=ratelimits,
                record=record,
            )
        )

    def release(self, leases: Sequence[str], *, principal: Principal | None = None) -> None:
        """Give back the concurrency slots a verification took (``Verdict.leases``)."""
        self._runner.run(self.service.release(leases, principal=principal))

    def close(self) -> None:
        try:
            self._runner.run(self.service.close())
        finally:
            self._runner.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["SyncKeystead"]
