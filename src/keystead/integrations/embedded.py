"""Embedded mode: verify in-process against the store, the limiter and the
usage recorder of a ``Keystead`` service (asyncio) or ``SyncKeystead`` (threads).

The request is verified with ``record=False``; ``finish`` then releases the
concurrency leases and completes the usage record with the response's status,
time and sizes (docs/monitoring.md).

An access token (a JWT) is verified by the service's in-process verifier
(``ks.tokens.verifier``): from memory, which the invalidation channel keeps
current, so a revocation on any node refuses the key's tokens here within a
second. Token requests are not recorded as usage (their exchange was).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Coroutine, Mapping
from concurrent.futures import Future
from typing import Any, Unpack

from keystead.config import Settings
from keystead.core.models import VerifyContext
from keystead.core.tokens import TokenRefused, looks_like_jwt
from keystead.core.verify import Verdict
from keystead.errors import KeysteadError, StoreUnavailable
from keystead.integrations.guard import (
    DRAIN_SECONDS,
    Check,
    GuardOptions,
    InFlight,
    Served,
    at_exit,
    decided,
    failed,
    log,
    unusable,
)
from keystead.integrations.handoff import Handoff
from keystead.integrations.identity import identity_of
from keystead.integrations.tokens import own_audience, token_check
from keystead.limits import RateLimit
from keystead.service import Keystead
from keystead.service.heap import freeze_startup_heap
from keystead.service.usage import MAX_RESPONSE_MS
from keystead.sync import SyncKeystead


class Embedded:
    """Verify against a ``Keystead`` service: the one given, or one opened from
    ``settings`` (default: ``Settings()``, the ``KEYSTEAD_*`` environment) on
    first use and closed by ``close()``.

    ``options``: ``cost``, ``ratelimits`` (``RateLimit``s or their dicts) and
    ``tags`` (``GuardOptions``)."""

    def __init__(
        self,
        keystead: Keystead | None = None,
        *,
        settings: Settings | None = None,
        **options: Unpack[GuardOptions],
    ) -> None:
        self._ks = keystead
        self._settings = settings
        self._owned = keystead is None
        self._opening = asyncio.Lock()
        self.cost = options.get("cost", 1)
        self.ratelimits = tuple(_rate_limit(item) for item in options.get("ratelimits", ()))
        self.tags = tuple(options.get("tags", ()))
        self.tokens = options.get("tokens", True)
        audience = options.get("audience")
        self.audience = (
            audience if audience is None or isinstance(audience, str) else (tuple(audience))
        )

    async def service(self) -> Keystead:
        """The service, opened on first use when none was given."""
        if self._ks is None:
            async with self._opening:
                if self._ks is None:
                    ks = await Keystead.open(settings=self._settings or Settings())
                    freeze_startup_heap(tune=ks.settings.gc_tuning)
                    self._ks = ks
        return self._ks

    async def check(self, key: str, context: VerifyContext, cost: int | None = None) -> Check:
        ks = self._ks or await self.service()
        if self.tokens and looks_like_jwt(key):
            return await self._token(ks, key, context)
        try:
            verdict: Verdict = await ks.verify(
                key,
                context,
                cost=self.cost if cost is None else cost,
                ratelimits=self.ratelimits,
                record=False,
            )
        except StoreUnavailable as exc:  # the client reads a stable 503; the cause is logged
            log.warning("keys cannot be verified: %s", exc.detail)
            return failed(context)
        return decided(verdict, context, identity_of(verdict), ks.clock.now(), verdict.leases)

    def check_now(self, key: str, context: VerifyContext, cost: int | None = None) -> Check | None:
        """``check`` in the calling thread when the service can decide there
        without I/O (``Keystead.verify_now``); None otherwise. The check is
        settled on the loop by ``finish``."""
        ks = self._ks
        if ks is None:
            return None
        if self.tokens and looks_like_jwt(key):
            return self._token_now(ks, key, context)
        if self.ratelimits:
            return None
        verdict = ks.verify_now(key, context, cost=self.cost if cost is None else cost)
        if verdict is None:
            return None
        check = decided(verdict, context, identity_of(verdict), ks.clock.now(), verdict.leases)
        check.unsettled = True
        return check

    async def _token(self, ks: Keystead, key: str, context: VerifyContext) -> Check:
        try:
            token = await ks.tokens.verifier.verify_async(key, self.audience)
        except TokenRefused:
            return unusable(context)
        except KeysteadError as exc:  # the store, or no master key: a stable 503
            log.warning("tokens cannot be verified: %s", exc.detail)
            return failed(context)
        if self.audience is None and not own_audience(token):
            return unusable(context)
        return token_check(token, context)

    def _token_now(self, ks: Keystead, key: str, context: VerifyContext) -> Check | None:
        """A token decided from memory; None when its key must be loaded first,
        or when no invalidation channel keeps the denials current (then the
        verifier reads them again when they are older than a second)."""
        verifier = ks.tokens.verifier
        if verifier.stale_after_s is not None:
            return None
        try:
            token = verifier.verify(key, audience=self.audience)
        except TokenRefused as refused:
            return None if refused.reason == "unknown_kid" else unusable(context)
        if self.audience is None and not own_audience(token):
            return unusable(context)
        return token_check(token, context)

    async def finish(self, check: Check, served: Served) -> None:
        ks = self._ks
        if ks is not None and check.leases:
            try:
                await ks.release(check.leases)
            except KeysteadError as exc:
                log.warning("could not release concurrency leases: %s", exc.title)
        waiting = self._complete(check, served)
        if waiting is not None:
            await waiting

    def finish_now(self, check: Check, served: Served) -> Awaitable[None] | None:
        """``finish`` without a coroutine when nothing needs to wait (no leases
        to hand back, room in the usage buffer): None, or what to await."""
        if check.leases:
            return self.finish(check, served)
        return self._complete(check, served)

    def _complete(self, check: Check, served: Served) -> Awaitable[None] | None:
        verdict = check.outcome
        ks = self._ks
        if not isinstance(verdict, Verdict) or ks is None:
            return None
        if check.unsettled:
            check.unsettled = False
            ks.settle_now(verdict)
        try:
            return ks.usage.complete_now(
                verdict,
                check.context,
                status=served.status,
                response_ms=min(served.response_ms, MAX_RESPONSE_MS),
                bytes_in=served.bytes_in,
                bytes_out=served.bytes_out,
                tags=self.tags,
            )
        except KeysteadError as exc:  # the answer is out; count it, never fail it
            log.warning("could not complete a request's usage: %s", exc.title)
            return None

    async def close(self) -> None:
        ks, self._ks = self._ks, None
        if ks is not None and self._owned:
            await ks.close()


class SyncEmbedded:
    """``Embedded`` for threaded servers (WSGI, Django), on a ``SyncKeystead``
    (the one given, or one opened from ``settings`` on first use).

    A cached key with no limit or one in-memory rate limit is verified in the
    request's own thread (``Keystead.verify_now``); anything else (a key not
    cached yet, Redis limits, several limits) on the ``SyncKeystead``'s loop.
    Completing usage is queued for that loop, which takes the queue in batches:
    it never blocks the request's thread."""

    def __init__(
        self,
        keystead: SyncKeystead | None = None,
        *,
        settings: Settings | None = None,
        **options: Unpack[GuardOptions],
    ) -> None:
        self._sync = keystead
        self._settings = settings
        self._owned = keystead is None
        self._opening = threading.Lock()
        self._options = options
        self._bound: tuple[Embedded, asyncio.AbstractEventLoop] | None = None
        self._in_flight = InFlight()
        self._finishing: Handoff[tuple[Check, Served]] | None = None
        if keystead is not None:
            self._bound = self._bind(keystead)

    def _bind(self, sync: SyncKeystead) -> tuple[Embedded, asyncio.AbstractEventLoop]:
        engine = Embedded(sync.service, **self._options)
        loop = sync.loop  # the loop the SyncKeystead runs its service on

        async def finish(item: tuple[Check, Served]) -> None:
            await engine.finish(*item)

        self._finishing = Handoff(loop, finish, self._in_flight.end)
        return engine, loop

    def keystead(self) -> SyncKeystead:
        """The ``SyncKeystead``, opened on first use when none was given."""
        while self._sync is None:
            self._engine()
        return self._sync

    def _engine(self) -> tuple[Embedded, asyncio.AbstractEventLoop]:
        bound = self._bound
        if bound is None:
            with self._opening:
                if self._bound is None:
                    self._sync = SyncKeystead.open(settings=self._settings or Settings())
                    self._bound = self._bind(self._sync)
                    at_exit(self.close)  # write the usage still buffered
                bound = self._bound
        return bound

    def check(self, key: str, context: VerifyContext, cost: int | None = None) -> Check:
        engine, loop = self._engine()
        check = engine.check_now(key, context, cost)
        if check is None:
            check = _run(engine.check(key, context, cost), loop).result()
        if isinstance(check.outcome, Verdict):  # a token's has nothing to finish
            self._in_flight.begin()
        return check

    def finish(self, check: Check, served: Served) -> None:
        if not isinstance(check.outcome, Verdict):
            return
        finishing = self._finishing
        if finishing is None:
            self._in_flight.end()
            return
        finishing.put((check, served))

    def close(self) -> None:
        """Wait (at most ``DRAIN_SECONDS``) for the requests being answered,
        then close the service this guard opened."""
        self._in_flight.drain(DRAIN_SECONDS)
        sync, self._sync, self._bound = self._sync, None, None
        self._finishing = None
        if sync is not None and self._owned:
            sync.close()


def _rate_limit(item: RateLimit | Mapping[str, Any]) -> RateLimit:
    return item if isinstance(item, RateLimit) else RateLimit.from_dict(item, "ratelimits")


def _run(coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop) -> Future[Any]:
    return asyncio.run_coroutine_threadsafe(coro, loop)


__all__ = ["Embedded", "SyncEmbedded"]
