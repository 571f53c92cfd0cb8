"""The verify hot path: shape and checksum -> keyed hash -> cache (store on a
miss) -> ``core.verify.decide`` -> limits (one limiter call, only for keys that
have any). No logging, no ORM objects, one dict lookup on a cache hit;
``last_used_at`` and credit balances are written off the path, in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from keystead.core import keyformat, legacy_hashes
from keystead.core.authz import Principal
from keystead.core.geo import default_resolver
from keystead.core.models import Api, Code, LimitState, VerifyContext
from keystead.core.permissions import parse_query_cached
from keystead.core.verify import MALFORMED, NOT_FOUND, Verdict, VerifiableKey, decide
from keystead.errors import LimiterUnavailable
from keystead.limits import Lease, MemoryLimiter, RateLimit
from keystead.service.context import CachedKey, ServiceContext
from keystead.service.guard import FailedAttempts
from keystead.service.imported_lookup import find_imported, routes_to_import
from keystead.service.limit_notices import LimitNotices
from keystead.service.limiting import NO_LIMITS, KeyLimits, per_call_checks, per_call_prefix
from keystead.service.secret_lookup import find_key_under_older
from keystead.service.shedding import LoadShedder
from keystead.service.single_flight import SingleFlight
from keystead.store.cache import MISS

log = logging.getLogger("keystead.verify")

_EMPTY = VerifyContext()
_new_tuple = tuple.__new__  # builds a Verdict without its Python-level __new__
_FLUSH_INTERVAL_S = 1.0
_NO_EXTRA: tuple[RateLimit, ...] = ()
_VALID = Verdict(Code.VALID)


class Verifier:
    def __init__(self, ctx: ServiceContext, guard: FailedAttempts, shedder: LoadShedder) -> None:
        self._ctx = ctx
        self._guard = guard
        self._shedder = shedder
        self._last_used: dict[str, float] = {}
        self._loading: SingleFlight[bytes, CachedKey | None] = SingleFlight()
        self._credits_dirty: dict[str, str] = {}
        self._credits_flushed_at = 0.0
        self.notices = LimitNotices(ctx.settings.limit_event_cooldown_s)
        self._flusher: asyncio.Task[None] | None = None
        self.limiter_errors = 0
        limiter = ctx.limiter
        memory = limiter if isinstance(limiter, MemoryLimiter) else None
        self._decide_now = None if memory is None else memory.decide_now
        self._gcra_one = None if memory is None else memory.gcra_one

    async def verify(
        self,
        key: str,
        context: VerifyContext | None = None,
        *,
        principal: Principal | None = None,
        cost: int = 1,
        ratelimits: Sequence[RateLimit] = _NO_EXTRA,
    ) -> Verdict:
        if principal is not None:
            principal.require("keys.verify")
        facts = _EMPTY if context is None else context
        query = None if not facts.permissions else parse_query_cached(facts.permissions)
        ctx = self._ctx
        ip = facts.ip
        if ip is not None and self._guard.enabled:
            refused = self._guard.refusal(ip, ctx.clock.now())
            if refused is not None:
                return refused
        if not isinstance(key, str) or (
            len(key) > keyformat.MAX_LENGTH
            and (ctx.imported_prefixes is None or len(key) > legacy_hashes.MAX_KEY_LENGTH)
        ):
            return await self._failed(MALFORMED, ip)
        digest = ctx.hasher.hash(key)
        cached = ctx.keys.get(digest)
        # a cached key is well-formed (its hash matched an issued key's): the
        # shape and checksum are checked on the way to the store only
        if not isinstance(cached, CachedKey):
            if not keyformat.is_well_formed(key) and not routes_to_import(ctx, key):
                return await self._failed(MALFORMED, ip)
            if cached is MISS:
                cached = await self._load(digest, key)
            if not isinstance(cached, CachedKey):
                return await self._failed(NOT_FOUND, ip)
        record = cached.record
        if principal is not None and (
            record.key.workspace_id != principal.workspace_id
            or (principal.api_ids is not None and record.key.api_id not in principal.api_ids)
            or (principal.owner_id is not None and record.key.owner_id != principal.owner_id)
        ):
            # outside the root key's scope: as unknown, nothing spent nor recorded
            return await self._failed(NOT_FOUND, ip)
        now = ctx.clock.now()
        verdict = decide(record, facts, now, query)
        if verdict.code is not Code.VALID:
            return verdict
        limits = cached.limits
        shedder = self._shedder
        if shedder.enabled and shedder.sheds(limits.priority):
            return Verdict(
                Code.RATE_LIMITED, record, "overloaded", retry_after=shedder.retry_after, shed=True
            )
        if limits.active or ratelimits:
            single = limits.single_gcra
            if (
                single is not None
                and self._gcra_one is not None
                and cost == 1
                and not ratelimits
                and (ip is None or not limits.ip_ratelimits)
            ):
                # the common case, decided inline: one GCRA limit in memory
                verdict = self._single_gcra(record, single, now)
                if verdict.code is not Code.VALID:
                    self._refused(verdict, now)
                    return verdict
            else:
                verdict = await self._limit(record, limits, ip, cost, ratelimits, now)
                if verdict.code is not Code.VALID:
                    self._refused(verdict, now)
                    return verdict
        self._last_used[record.key.id] = now
        if self._flusher is None:
            self._start_flusher()
        return verdict

    def verify_now(
        self, key: str, context: VerifyContext | None = None, *, cost: int = 1
    ) -> Verdict | None:
        """``verify`` in the calling thread, for a threaded server: the verdict
        when it needs no I/O and no state but the limiter's (which has its own
        lock): a cached key with no limit or one in-memory GCRA rate limit,
        no load shedding, no failed-attempt block on the IP. None otherwise:
        verify on the service's loop instead. Nothing else is changed here:
        the caller hands the verdict to ``settle`` on the loop afterwards."""
        facts = _EMPTY if context is None else context
        ip = facts.ip
        if cost != 1 or self._shedder.enabled:
            return None
        if ip is not None and self._guard.enabled and self._guard.blocks(ip):
            return None
        if not isinstance(key, str) or len(key) > keyformat.MAX_LENGTH:
            return None  # counted per IP on the loop
        ctx = self._ctx
        cached = ctx.keys.peek(ctx.hasher.hash(key))
        if not isinstance(cached, CachedKey):
            return None  # malformed, unknown or not cached yet: the loop decides
        record = cached.record
        query = None if not facts.permissions else parse_query_cached(facts.permissions)
        now = ctx.clock.now()
        verdict = decide(record, facts, now, query)
        limits = cached.limits
        if verdict.code is not Code.VALID or not limits.active:
            return verdict
        single = limits.single_gcra
        if single is None or self._gcra_one is None or (ip is not None and limits.ip_ratelimits):
            return None
        return self._single_gcra(record, single, now)

    def _single_gcra(
        self, record: VerifiableKey, single: tuple[str, RateLimit], now: float
    ) -> Verdict:
        """The verdict of a key's one in-memory GCRA limit, spending 1."""
        assert self._gcra_one is not None  # noqa: S101 - the callers checked
        result = self._gcra_one(single[0], single[1], 1, now)
        if not result.allowed:
            return Verdict(Code.RATE_LIMITED, record, result.name, (result,), result.retry_after)
        return _new_tuple(Verdict, (Code.VALID, record, None, (result,), None, (), False))

    def settle(self, verdict: Verdict, now: float) -> None:
        """On the loop, after ``verify_now``: what ``verify`` does inline for
        its verdict (the key's last use, limit notices)."""
        record = verdict.record
        if record is None:
            return
        if verdict.code is Code.VALID:
            self._last_used[record.key.id] = now
            if self._flusher is None:
                self._start_flusher()
        elif verdict.code is Code.RATE_LIMITED and verdict.limits:
            self._refused(verdict, now)

    def _refused(self, verdict: Verdict, now: float) -> None:
        self.notices.observe(verdict, now)
        if self._flusher is None:
            self._start_flusher()

    async def _limit(
        self,
        record: VerifiableKey,
        limits: KeyLimits,
        ip: str | None,
        cost: int,
        extra: Sequence[RateLimit],
        now: float,
    ) -> Verdict:
        checks = limits.checks_for(record.key, cost, ip, extra)
        try:
            if self._decide_now is not None:  # memory://: no coroutine needed
                decision = self._decide_now(checks, now)
            else:
                decision = await self._ctx.limiter.decide(checks, now)
        except LimiterUnavailable:
            if self._fails_closed(limits.failure_policy):
                return Verdict(Code.RATE_LIMITED, record, "limiter_unavailable", shed=True)
            return record.valid_verdict
        results = _labelled(decision.results, limits.labels) if limits.relabel else decision.results
        if not decision.allowed:
            failed = next(r.name for r in results if not r.allowed)
            code = Code.USAGE_EXCEEDED if decision.code == "USAGE_EXCEEDED" else Code.RATE_LIMITED
            return Verdict(code, record, failed, results, decision.retry_after)
        if limits.credits_counter is not None:
            self._credits_dirty[record.key.id] = limits.credits_counter
        if decision.lease_ids:
            leases = tuple(f"{lease.key}|{lease.id}" for lease in decision.lease_ids)
            return Verdict(Code.VALID, record, None, results, None, leases)
        return Verdict(Code.VALID, record, None, results)

    async def limit_token(
        self, workspace_id: str, api_id: str, key_id: str, cost: int, extra: Sequence[RateLimit]
    ) -> Verdict:
        """Spend ``cost`` on per-call limits for an access token of ``key_id``,
        on the counters the key's own verifications with ``extra`` use: a key and
        its tokens share one budget. No record: the verdict's limits only."""
        checks = per_call_checks(per_call_prefix(workspace_id, key_id), extra, cost)
        now = self._ctx.clock.now()
        try:
            if self._decide_now is not None:
                decision = self._decide_now(checks, now)
            else:
                decision = await self._ctx.limiter.decide(checks, now)
        except LimiterUnavailable:
            api = self._ctx.apis.peek(api_id.encode())  # the key's API, as its own verify
            limits = api.limits if isinstance(api, Api) else {}
            policy = str(limits.get("failure_policy", "open"))
            if self._fails_closed(policy):
                return Verdict(Code.RATE_LIMITED, None, "limiter_unavailable", shed=True)
            return _VALID
        if not decision.allowed:
            failed = next(r.name for r in decision.results if not r.allowed)
            return Verdict(Code.RATE_LIMITED, None, failed, decision.results, decision.retry_after)
        return Verdict(Code.VALID, None, None, decision.results)

    def _fails_closed(self, policy: str) -> bool:
        """Count a limiter failure (logged now and then); whether to refuse."""
        self.limiter_errors += 1
        if self.limiter_errors % 1000 == 1:
            log.warning(
                "limiter unavailable (%d times so far); failing %s", self.limiter_errors, policy
            )
        return policy == "closed"

    async def _failed(self, verdict: Verdict, ip: str | None) -> Verdict:
        """MALFORMED and NOT_FOUND are what guessing looks like: count them per IP."""
        if ip is not None and self._guard.enabled:
            return await self._guard.record(ip, verdict, self._ctx.clock.now())
        return verdict

    async def release(self, leases: Sequence[str], principal: Principal | None = None) -> None:
        """Give slots back; with ``principal``, only leases of its workspace."""
        scope = None if principal is None else f"{{{principal.workspace_id}}}"
        parsed = []
        for token in leases:
            counter, sep, lease_id = token.rpartition("|")
            if not (sep and counter and lease_id):
                continue
            if scope is None or counter.startswith(scope):
                parsed.append(Lease(counter, lease_id))
        if parsed:
            await self._ctx.limiter.release(parsed)

    async def _load(self, digest: bytes, plaintext: str) -> CachedKey | None:
        """The key of ``digest`` from the store, cached; concurrent misses of one
        key share one read (``SingleFlight``)."""
        read = lambda: self._read(digest, plaintext)  # noqa: E731
        return await self._loading.run(digest, self._ctx.generation, read)

    async def _read(self, digest: bytes, plaintext: str) -> CachedKey | None:
        ctx = self._ctx
        generation = ctx.generation
        store = ctx.store
        key = await store.find_key(digest)
        if key is None and ctx.older_hashers:  # a server-secret rotation is under way
            key = await find_key_under_older(ctx, plaintext)
        if key is None and ctx.imported_prefixes is not None:
            if not keyformat.is_well_formed(plaintext):  # an imported key's first use
                key = await find_imported(ctx, plaintext)
        cached = None
        if key is not None:
            role_permissions: list[str] = []
            if key.roles:
                wanted = set(key.roles)
                for role in await store.list_roles(key.api_id):
                    if role.name in wanted:
                        role_permissions.extend(role.permissions)
            record = VerifiableKey.build(key, role_permissions)
            if record.restrictions is not None and "country" in record.restrictions.kinds():
                resolver = default_resolver()
                if not resolver.loaded:
                    # about 0.1 s once per process: keep it off the event loop
                    await asyncio.to_thread(resolver.load)
            cached = CachedKey(record, await self._limits_of(record))
        if generation == ctx.generation:
            # nothing changed while we read: safe to remember
            ctx.keys.put(digest, cached, None if key is None else key.id)
        return cached

    async def _limits_of(self, record: VerifiableKey) -> KeyLimits:
        key = record.key
        store = self._ctx.store
        api = await self._api(key.workspace_id, key.api_id)
        plan = None if key.plan_id is None else await store.get_plan(key.workspace_id, key.plan_id)
        owner = (
            None if key.owner_id is None else await store.get_owner(key.workspace_id, key.owner_id)
        )
        if not key.limits and plan is None and owner is None and not (api and api.limits):
            return NO_LIMITS
        seed = await store.get_credits_remaining(key.id)
        return KeyLimits.build(key, plan=plan, owner=owner, api=api, credits_seed=seed)

    async def _api(self, workspace_id: str, api_id: str) -> Api | None:
        """APIs are few and rarely change: a cache miss on a key needs not
        query its API too (changes evict it, as they evict the API's keys)."""
        apis = self._ctx.apis
        cached = apis.get(api_id.encode())
        if isinstance(cached, Api):
            return cached
        api = await self._ctx.store.get_api(workspace_id, api_id)
        if api is not None:
            apis.put(api_id.encode(), api)
        return api

    def _start_flusher(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(_FLUSH_INTERVAL_S)
            await self.flush(credits_due_only=True)

    async def flush(self, *, credits_due_only: bool = False) -> None:
        """Write the batched ``last_used_at`` stamps and reconcile credit balances."""
        if self._last_used:
            pending, self._last_used = self._last_used, {}
            stamps = {k: datetime.fromtimestamp(v, UTC) for k, v in pending.items()}
            try:
                await self._ctx.store.touch_keys(stamps)
            except Exception:
                log.warning("could not record last use of %d keys", len(stamps), exc_info=True)
        notices = self.notices.drain()
        if notices:
            try:
                await self._ctx.store.append_events(notices)
                self._ctx.events_written()
            except Exception:
                log.warning("could not record %d limit events", len(notices), exc_info=True)
        now = self._ctx.clock.now()
        interval = self._ctx.settings.credits_sync_interval_s
        if self._credits_dirty and (
            not credits_due_only or now - self._credits_flushed_at >= interval
        ):
            await self._sync_credits()
            self._credits_flushed_at = now

    async def _sync_credits(self) -> None:
        """Mirror the limiter's live balances into the store: a restarted
        in-memory limiter starts again from the mirror, and GET shows them."""
        dirty, self._credits_dirty = self._credits_dirty, {}
        balances: dict[str, int | None] = {}
        try:
            for key_id, counter in dirty.items():
                balances[key_id] = await self._ctx.limiter.get_credits(counter)
            await self._ctx.store.put_credits_remaining(balances)
        except Exception:
            self._credits_dirty.update(dirty)  # try again next time
            log.warning("could not reconcile credits of %d keys", len(dirty), exc_info=True)

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.flush()


def _labelled(
    results: tuple[LimitState, ...], labels: tuple[str | None, ...]
) -> tuple[LimitState, ...]:
    """Rename owner results by position; results past the labels (per-call and
    per-IP limits) keep their own names."""
    named = len(labels)
    out = []
    for i, result in enumerate(results):
        label = labels[i] if i < named else None
        out.append(result if label is None else result._replace(name=label))
    return tuple(out)
