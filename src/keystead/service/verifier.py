"""The verify hot path: shape and checksum -> keyed hash -> cache (store on a
miss) -> ``core.verify.decide``. No logging, no ORM objects, one dict lookup on
a cache hit; ``last_used_at`` is batched and written off the path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from keystead.core import keyformat
from keystead.core.authz import Principal
from keystead.core.geo import default_resolver
from keystead.core.models import Code, VerifyContext
from keystead.core.permissions import parse_query_cached
from keystead.core.verify import MALFORMED, NOT_FOUND, Verdict, VerifiableKey, decide
from keystead.service.context import ServiceContext
from keystead.store.cache import MISS

log = logging.getLogger("keystead.verify")

_EMPTY = VerifyContext()
_TOUCH_INTERVAL_S = 1.0


class Verifier:
    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._last_used: dict[str, float] = {}
        self._flusher: asyncio.Task[None] | None = None

    async def verify(
        self,
        key: str,
        context: VerifyContext | None = None,
        *,
        principal: Principal | None = None,
    ) -> Verdict:
        if principal is not None:
            principal.require("keys.verify")
        facts = _EMPTY if context is None else context
        query = None if not facts.permissions else parse_query_cached(facts.permissions)
        if not isinstance(key, str) or not keyformat.is_well_formed(key):
            return MALFORMED
        ctx = self._ctx
        digest = ctx.hasher.hash(key)
        record = ctx.keys.get(digest)
        if record is MISS:
            record = await self._load(digest)
        assert record is None or isinstance(record, VerifiableKey)  # noqa: S101
        if record is not None and principal is not None:
            if record.key.workspace_id != principal.workspace_id or not principal.sees_api(
                record.key.api_id
            ):
                return NOT_FOUND
        now = ctx.clock.now()
        verdict = decide(record, facts, now, query)
        if verdict.code is Code.VALID and record is not None:
            self._last_used[record.key.id] = now
            if self._flusher is None:
                self._start_flusher()
        return verdict

    async def _load(self, digest: bytes) -> VerifiableKey | None:
        ctx = self._ctx
        generation = ctx.generation
        key = await ctx.store.find_key(digest)
        record = None
        if key is not None:
            role_permissions: list[str] = []
            if key.roles:
                wanted = set(key.roles)
                for role in await ctx.store.list_roles(key.api_id):
                    if role.name in wanted:
                        role_permissions.extend(role.permissions)
            record = VerifiableKey.build(key, role_permissions)
            if record.restrictions is not None and "country" in record.restrictions.kinds():
                resolver = default_resolver()
                if not resolver.loaded:
                    # about 0.1 s once per process: keep it off the event loop
                    await asyncio.to_thread(resolver.load)
        if generation == ctx.generation:
            # nothing changed while we read: safe to remember
            ctx.keys.put(digest, record, None if key is None else key.id)
        return record

    def _start_flusher(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(_TOUCH_INTERVAL_S)
            await self.flush()

    async def flush(self) -> None:
        """Write the batched ``last_used_at`` stamps."""
        if not self._last_used:
            return
        pending, self._last_used = self._last_used, {}
        stamps = {k: datetime.fromtimestamp(v, UTC) for k, v in pending.items()}
        try:
            await self._ctx.store.touch_keys(stamps)
        except Exception:
            log.warning("could not record last use of %d keys", len(stamps), exc_info=True)

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.flush()
