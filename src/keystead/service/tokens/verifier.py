"""The in-process verifier of access tokens: no I/O on the hot path.

Public keys (by kid) and each API's revocation state live in memory. ``prepare``
loads an API's keys and denials; ``verify`` is synchronous and decides from
memory alone; ``verify_async`` loads the API of a token whose kid this process
does not hold (at most once per API per ``RELOAD_INTERVAL_S``, one load at a
time) and then runs ``verify``.

Denials reach the state at once for changes made on this node (``apply``) and
through the invalidation channel for the others' (``refresh``); with no channel,
``verify_async`` reads an API's new denials when its state is older than
``stale_after_s``. Verified tokens are cached by their exact text until they
expire; each hit consults the revocation state again (a dict lookup).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass

from keystead.core.clock import Clock
from keystead.core.tokens import (
    LEEWAY_S,
    Denial,
    RevocationState,
    TokenRefused,
    VerifyingKey,
    check_claims,
    parse,
    verified,
)
from keystead.core.tokens.verified_token import VerifiedToken, accepted
from keystead.service.single_flight import SingleFlight

RELOAD_INTERVAL_S = 1.0
"""After a load that did not bring a token's kid, the API is not loaded again for
unknown kids for this long (a rotated key's first token loads at once)."""
CACHE_SIZE = 100_000
"""Verified tokens kept (by token text, until they expire); emptied when full."""
MAX_LOADS_PER_S = 50
"""Loads started on unknown kids per second, across APIs."""
PRUNE_EVERY_S = 60.0
"""Expired denials and cached tokens are dropped this often (on a verification)."""
STALE_AFTER_S = 1.0
"""Without an invalidation channel: an API's denials are read again this often."""


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """A key that verifies an API's tokens until ``until`` (None: while it signs)."""

    key: VerifyingKey
    api_id: str
    workspace_id: str
    until: float | None


@dataclass(frozen=True, slots=True)
class ApiTokens:
    """What ``prepare`` loads for one API."""

    keys: Sequence[PublishedKey]
    denials: Sequence[Denial]


Loader = Callable[[str], Awaitable[ApiTokens]]
DeltaLoader = Callable[[str, int], Awaitable[Sequence[Denial]]]


class InProcessTokenVerifier:
    def __init__(
        self, clock: Clock, issuer: Callable[[str], str], load: Loader, delta: DeltaLoader
    ) -> None:
        self._clock = clock
        self._issuer = issuer
        self._load = load
        self._delta = delta
        self._keys: dict[str, PublishedKey] = {}
        self._states: dict[str, RevocationState] = {}
        self._workspaces: dict[str, str] = {}
        self._loaded_at: dict[str, float] = {}
        self._missed: dict[str, float] = {}
        """When a load of each API last failed to bring a token's kid."""
        self._cache: dict[str, VerifiedToken] = {}
        self._flights: SingleFlight[str, None] = SingleFlight()
        self._running: dict[str, asyncio.Future[None]] = {}
        self._generation = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._prune_at = 0.0
        self._loads = (0, 0)
        """(second, loads started in it) for ``MAX_LOADS_PER_S``."""
        self.stale_after_s: float | None = STALE_AFTER_S
        """None once an invalidation channel delivers other nodes' denials."""

    def verify(self, token: str, *, audience: str | Collection[str] | None = None) -> VerifiedToken:
        """The token's checked claims, or ``TokenRefused`` (never I/O)."""
        now = self._clock.now()
        hit = self._cache.get(token)
        if hit is not None:
            self._check_hit(hit, now, audience)
            return hit
        parsed = verified(token, self._key_of)
        published = self._keys[parsed.kid or ""]
        if published.until is not None and now >= published.until:
            raise TokenRefused("unknown_kid", "the key that signed the token was removed")
        claims = parsed.claims
        api_id = published.api_id
        if claims.get("api_id") != api_id:
            raise TokenRefused("claims", "the token is not for the signing key's API")
        check_claims(claims, now=now, issuer=self._issuer(api_id), audience=audience)
        state = self._states.get(api_id)
        if state is None or state.refuses(claims):
            raise TokenRefused("revoked", "the token was revoked")
        result = accepted(claims, api_id)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[token] = result
        return result

    async def verify_async(
        self, token: str, audience: str | Collection[str] | None = None
    ) -> VerifiedToken:
        """``verify``, after loading the token's API when this process lacks its key
        (or, without an invalidation channel, its denials are stale)."""
        try:
            result = self.verify(token, audience=audience)
        except TokenRefused as exc:
            if exc.reason != "unknown_kid":
                raise
            api_id = _unverified_api(token)
            if api_id is None or not await self._reload(api_id):
                raise
            try:
                return self.verify(token, audience=audience)
            except TokenRefused as again:
                if again.reason == "unknown_kid":  # the load did not bring it: wait a while
                    self._missed[api_id] = time.monotonic()
                raise
        if self._clock_s() >= self._prune_at:
            self._prune_at = self._clock_s() + PRUNE_EVERY_S
            self.prune(self._clock.now())
        stale = self.stale_after_s
        if stale is not None and self._clock_s() - self._loaded_at.get(result.api_id, 0.0) > stale:
            await self.refresh(result.api_id)
            self._check_hit(result, self._clock.now(), audience)
        return result

    async def prepare(self, api_id: str) -> None:
        """Load (or reload) the API's signing keys and its denials."""
        await self._flights.run(api_id, self._generation, lambda: self._prepare(api_id))

    async def refresh(self, api_id: str) -> None:
        """Read the API's denials newer than those held (a full load if none are)."""
        state = self._states.get(api_id)
        if state is None:
            return
        loaded_at = self._clock_s()
        state.apply(await self._delta(api_id, state.seq))
        self._loaded_at[api_id] = loaded_at

    def apply(self, api_id: str, denials: Sequence[Denial]) -> None:
        """Denials committed on this node: in force at once."""
        state = self._states.get(api_id)
        if state is not None:
            state.apply(denials)

    def changed(self, api_id: str) -> None:
        """Another node changed the API's denials or keys: load them in the background."""
        if api_id in self._states:
            self._spawn(self._changed(api_id))

    def flush(self) -> None:
        """Forget everything (missed messages): each API loads again on its next token."""
        self._generation += 1
        loaded = list(self._states)
        self._keys.clear()
        self._states.clear()
        self._loaded_at.clear()
        self._cache.clear()
        for api_id in loaded:
            self._spawn(self.prepare(api_id))

    def workspace_of(self, api_id: str) -> str | None:
        """The workspace of a loaded API."""
        return self._workspaces.get(api_id)

    def add_key(self, published: PublishedKey) -> None:
        """A key this node just made: its tokens verify here at once (when the API
        is loaded; otherwise its first token loads it)."""
        if published.api_id in self._states:
            self._keys[published.key.kid] = published
            self._workspaces[published.api_id] = published.workspace_id

    def forget_key(self, kid: str) -> None:
        """A signing key removed from the JWKS: its tokens no longer verify here."""
        if self._keys.pop(kid, None) is not None:
            self._cache.clear()

    def prune(self, now: float) -> None:
        for state in self._states.values():
            state.prune(now)
        self._cache = {t: v for t, v in self._cache.items() if v.expires_at + LEEWAY_S > now}

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _check_hit(
        self, hit: VerifiedToken, now: float, audience: str | Collection[str] | None
    ) -> None:
        if now >= hit.expires_at + LEEWAY_S:
            raise TokenRefused("expired", "the token has expired")
        state = self._states.get(hit.api_id)
        if state is None or state.refuses(hit.claims):
            raise TokenRefused("revoked", "the token was revoked")
        if audience is not None:
            check_claims(hit.claims, now=now, issuer=None, audience=audience)

    def _key_of(self, kid: str | None) -> VerifyingKey | None:
        published = self._keys.get(kid) if kid is not None else None
        return None if published is None else published.key

    async def _reload(self, api_id: str) -> bool:
        """Load the API, or join its load under way; not within ``RELOAD_INTERVAL_S``
        of a load that missed a kid (a flood of tokens with made-up kids costs one
        read per API per interval)."""
        running = self._running.get(api_id)
        if running is None:
            now = time.monotonic()
            if now - self._missed.get(api_id, -RELOAD_INTERVAL_S) < RELOAD_INTERVAL_S:
                return False
            second = int(now)
            if self._loads[0] != second:
                self._loads = (second, 0)
            if self._loads[1] >= MAX_LOADS_PER_S:  # made-up API ids: a bound on the reads
                return False
            self._loads = (second, self._loads[1] + 1)
            if len(self._missed) >= CACHE_SIZE:
                self._missed.clear()
            running = asyncio.ensure_future(self.prepare(api_id))
            self._running[api_id] = running
            running.add_done_callback(lambda _: self._running.pop(api_id, None))
        await asyncio.shield(running)
        return True

    async def _prepare(self, api_id: str) -> None:
        loaded_at = self._clock_s()
        loaded = await self._load(api_id)
        for kid in [k for k, v in self._keys.items() if v.api_id == api_id]:
            del self._keys[kid]
        if not loaded.keys:  # no such API, or it never issued a token: nothing to hold
            self._states.pop(api_id, None)
            return
        for published in loaded.keys:
            self._keys[published.key.kid] = published
            self._workspaces[api_id] = published.workspace_id
        state = RevocationState(loaded.denials)
        self._states[api_id] = state
        # a denial committed here while the load ran went to the state it replaced
        state.apply(await self._delta(api_id, state.seq))
        self._loaded_at[api_id] = loaded_at

    async def _changed(self, api_id: str) -> None:
        await self.refresh(api_id)
        await self.prepare(api_id)

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        try:
            task = asyncio.get_running_loop().create_task(run())
        except RuntimeError:
            if asyncio.iscoroutine(work):
                work.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _clock_s() -> float:
        return time.monotonic()


def _unverified_api(token: str) -> str | None:
    """The API a token claims to be for, read without trusting it: only which API
    to load keys of."""
    try:
        api_id = parse(token).claims.get("api_id")
    except TokenRefused:
        return None
    return api_id if type(api_id) is str and 0 < len(api_id) <= 64 else None


__all__ = [
    "CACHE_SIZE",
    "RELOAD_INTERVAL_S",
    "STALE_AFTER_S",
    "ApiTokens",
    "InProcessTokenVerifier",
    "PublishedKey",
]
