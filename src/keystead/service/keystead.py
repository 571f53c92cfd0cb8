"""``Keystead``: the application service every face calls."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

from keystead.config import Settings
from keystead.core.at_rest import pickup_aad, webhook_secret_aad
from keystead.core.authz import Principal
from keystead.core.clock import Clock, SystemClock
from keystead.core.hashing import KeyHasher
from keystead.core.models import Code, VerifyContext
from keystead.core.verify import Verdict
from keystead.events.exporters import open_sinks
from keystead.events.exporters.hub import ExportHub
from keystead.events.exporters.producers import from_alert, from_audit, from_usage
from keystead.events.invalidation import InvalidationBus, open_channel, resolve_url
from keystead.events.webhooks import SecretBox, WebhookDispatcher
from keystead.keyring import Keyring, open_keyring
from keystead.limits import Limiter, RateLimit, open_limiter
from keystead.service.actions import LifecycleActions
from keystead.service.alerts import AlertService
from keystead.service.analytics import AnalyticsService
from keystead.service.apis import ApiService
from keystead.service.audit import AuditService
from keystead.service.changes import ChangeFeed
from keystead.service.context import KeyChangeHook, ServiceContext
from keystead.service.custody import Custody, derive_sealing_key
from keystead.service.guard import AttemptsState, FailedAttempts
from keystead.service.incidents import IncidentService
from keystead.service.key_import import KeyImportService
from keystead.service.keys import KeyService
from keystead.service.leak_exposure import LeakExposure
from keystead.service.leak_policy import LeakPolicies
from keystead.service.leaks import LeakService
from keystead.service.master_keys import MasterKeys
from keystead.service.metrics import ServiceMetrics
from keystead.service.owners import OwnerService
from keystead.service.pickups import PickupService
from keystead.service.plans import PlanService
from keystead.service.root_keys import RootKeyService
from keystead.service.rotation import RotationService
from keystead.service.scheduler import Scheduler
from keystead.service.sealed_material import LegacyForm
from keystead.service.secret_cache import SealedLatest
from keystead.service.secret_consumers import SecretConsumers
from keystead.service.secret_rotation import SecretRotation
from keystead.service.secrets import SecretService
from keystead.service.server_secret import ServerSecret
from keystead.service.shedding import LoadShedder
from keystead.service.store_checks import checked_store
from keystead.service.tokens import TokenService, VerifiedToken
from keystead.service.transit import TransitService
from keystead.service.usage import UsageService
from keystead.service.verifier import Verifier
from keystead.service.web_sessions import WebSessions
from keystead.service.webhooks import WebhookService
from keystead.service.workspaces import WorkspaceService
from keystead.store import Store, open_store
from keystead.store.cache import TtlLruCache


class Keystead:
    """Issue, store, verify and manage API keys, in-process.

    ``await Keystead.open("sqlite:///keys.db")`` (or a PostgreSQL URL) runs the
    migrations, loads the server secret and returns a ready service.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        secret: bytes,
        clock: Clock,
        limiter: Limiter | None = None,
        *,
        master_keys: MasterKeys | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.store = store
        self.limiter = limiter if limiter is not None else open_limiter(settings.limits_url)
        self._ctx = ServiceContext(
            store=store,
            clock=clock,
            settings=settings,
            hasher=KeyHasher(secret),
            limiter=self.limiter,
            keys=TtlLruCache(
                settings.cache_size, settings.cache_ttl_s, settings.negative_cache_ttl_s
            ),
            root_keys=TtlLruCache(10_000, settings.cache_ttl_s, settings.negative_cache_ttl_s),
            apis=TtlLruCache(10_000, settings.cache_ttl_s, settings.negative_cache_ttl_s),
            secrets=SealedLatest(ttl_s=settings.secret_cache_s),
        )
        self.root_keys = RootKeyService(self._ctx)
        self.master_keys = master_keys or MasterKeys(
            store, open_keyring(settings.master_key_location())
        )
        self.server_secret = ServerSecret(self._ctx, self.master_keys)
        self.invalidation: InvalidationBus | None = None
        self.changes = ChangeFeed(store, clock)
        self._ctx.change_hooks.append(self.changes.publish)
        self.workspaces = WorkspaceService(self._ctx, self.root_keys)
        self.apis = ApiService(self._ctx)
        self.plans = PlanService(self._ctx)
        self.owners = OwnerService(self._ctx)
        master = self.master_keys.provider
        webhook_box = SecretBox.from_server_secret(secret, master)
        self.webhooks = WebhookService(self._ctx, webhook_box)
        self.keys = KeyService(self._ctx, self.apis, self.plans)
        self.key_import = KeyImportService(self._ctx, self.keys)
        self.rotation = RotationService(self._ctx, self.keys)
        self.custody = Custody(self._ctx, derive_sealing_key(secret), master)
        webhook_form = LegacyForm(webhook_box.legacy, webhook_secret_aad)
        self.master_keys.legacy_forms = {
            "webhook_secret": webhook_form,
            "webhook_old_secret": webhook_form,
            "pickup": LegacyForm(self.custody.legacy, pickup_aad),
        }
        self.rotation.custody = self.custody
        self.pickups = PickupService(self._ctx, self.custody)
        self.actions = LifecycleActions(self._ctx, self.keys, self.rotation)
        self.alerts = AlertService(self._ctx, self.actions)
        self.incidents = IncidentService(self._ctx, self.keys, self.rotation)
        self.exposure = LeakExposure(self._ctx, self.incidents)
        self.leaks = LeakService(self._ctx, self.incidents, LeakPolicies(self._ctx), self.root_keys)
        self.leaks.exposure = self.exposure.for_leak
        self.audit = AuditService(self._ctx, secret)
        self.secrets = SecretService(self._ctx, self.master_keys, self.alerts.announce)
        self.transit = TransitService(self._ctx, self.master_keys, self.alerts.announce)
        self.tokens = TokenService(
            self._ctx, self.master_keys, self.apis, self.verify, self.release
        )
        self.secret_consumers = SecretConsumers(self._ctx, self.secrets.mounts)
        self.secrets.on_read = self.secret_consumers.recorder.record
        self.secret_rotation = SecretRotation(self._ctx, self.secrets.mounts, self.alerts.announce)
        self.scheduler = Scheduler(self._ctx, self.rotation)
        self.scheduler.purge = self._scheduled_upkeep
        self.failed_attempts = FailedAttempts(self.limiter, settings)
        self.web_sessions = WebSessions(
            self._ctx, self.root_keys, self.failed_attempts, secret, self.keys
        )
        self.shedder = LoadShedder(settings)
        self._verifier = Verifier(self._ctx, self.failed_attempts, self.shedder)
        self.usage = UsageService(store, settings, clock)
        self.analytics = AnalyticsService(store, clock, settings.usage_raw_retention_days * 86_400)
        self.metrics = ServiceMetrics()
        self.exports = ExportHub(open_sinks(settings.export_urls, sd_id=settings.syslog_sd_id))
        self._outcomes = self.metrics.outcomes
        recorder = self.usage.recorder
        self._usage_buffer = recorder.buffer if settings.usage_enabled else None
        self._usage_limit = recorder.limit
        self._usage_wake_at = recorder.wake_at
        self._usage_wake = recorder.wake
        self._usage_blocks = recorder.policy == "block"
        self._usage_offer = recorder.offer

    @classmethod
    async def open(
        cls,
        database_url: str | None = None,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
        create_secret: bool = True,
        create_master_key: bool = False,
        migrate: bool = True,
        limiter: Limiter | None = None,
    ) -> Self:
        """With ``create_master_key`` (``keystead init``), a ``file://`` master key
        is created when missing and the store has none recorded yet; otherwise a
        store that recorded a master key refuses to open without the same one,
        and a store that did not opens without (docs/secrets.md)."""
        settings = settings or Settings()
        if database_url is not None:
            settings = settings.model_copy(update={"database_url": database_url})
        secret = settings.load_secret(create=create_secret)
        keyring = open_keyring(settings.master_key_location())
        channel_url = resolve_url(
            settings.invalidation_url, settings.database_url, settings.limits_url
        )
        store = open_store(settings.database_url)
        try:
            master_keys = await checked_store(
                store, secret, keyring, migrate=migrate, create_master_key=create_master_key
            )
        except BaseException:
            await store.close()
            raise
        service = cls(
            store, settings, secret, clock or SystemClock(), limiter, master_keys=master_keys
        )
        try:
            await service.master_keys.convert_legacy()  # older rows: under the master key
            await service.server_secret.refresh()  # the versions keys are hashed under
        except BaseException:
            await service.close()
            raise
        service.shedder.start()
        service.server_secret.start()
        if settings.usage_enabled:
            service.usage.recorder.start()
        service._start_exports()
        if channel_url is not None:
            await service._start_invalidation(channel_url)
        return service

    @staticmethod
    async def preflight(settings: Settings) -> None:
        """Open the store, migrate it, check the server secret and the master key,
        close: what ``keystead serve`` does before it listens, so that a refusal
        is one clear line rather than a failed start-up in each worker."""
        secret = settings.load_secret(create=False)
        keyring = open_keyring(settings.master_key_location())
        store = open_store(settings.database_url)
        try:
            await checked_store(store, secret, keyring, migrate=True, create_master_key=False)
        finally:
            await store.close()

    @property
    def keyring(self) -> Keyring:
        """The master keyring, for sealing; ``ConfigurationError`` when there is no
        master key (a store opened without one)."""
        return self.master_keys.keyring

    async def _start_invalidation(self, url: str) -> None:
        """Publish this node's changes to, and apply the other nodes' from, the
        channel at ``url`` (PostgreSQL LISTEN/NOTIFY or Redis pub/sub)."""
        apply, flush = self.changes.relay(self._ctx.apply_remote, self._ctx.flush_caches)
        bus = InvalidationBus(open_channel(url), apply, flush)
        self._ctx.change_hooks.append(bus.publish)
        self.invalidation = bus
        await bus.start()
        self.tokens.verifier.stale_after_s = None  # other nodes' denials arrive by the bus

    async def verify(
        self,
        key: str,
        context: VerifyContext | None = None,
        *,
        principal: Principal | None = None,
        cost: int = 1,
        ratelimits: Sequence[RateLimit] = (),
        record: bool = True,
    ) -> Verdict:
        """Verify a key, then spend ``cost`` on every limit it has (all or
        nothing). With ``principal``, keys outside its workspace or APIs answer
        NOT_FOUND, and the principal needs ``keys.verify``. ``ratelimits`` adds
        limits for this call only (counted per key and name). Every answer is
        recorded as usage (docs/monitoring.md), off the hot path, unless
        ``record`` is False: a middleware then calls ``usage.complete`` once it
        has answered, so the record carries the response too."""
        verdict = await self._verifier.verify(
            key, context, principal=principal, cost=cost, ratelimits=ratelimits
        )
        self._outcomes[verdict.code] += 1
        buffer = self._usage_buffer
        if buffer is not None and record:  # four slots appended; the flusher does the rest
            n = len(buffer)
            if n < self._usage_limit:
                buffer.extend((self.clock.now(), verdict, context, principal))
                if n == self._usage_wake_at:  # a batch is waiting
                    self._usage_wake()
            elif self._usage_blocks:
                await self._usage_offer((self.clock.now(), verdict, context, principal))
            else:
                self.usage.recorder.dropped += 1
        return verdict

    def verify_now(
        self, key: str, context: VerifyContext | None = None, *, cost: int = 1
    ) -> Verdict | None:
        """``verify(..., record=False)`` decided in the calling thread (any
        thread: a threaded server's worker) when that needs no I/O: a cached
        key with no limit or one in-memory rate limit. None when it cannot be:
        then ``verify`` on the service's loop. Pass the verdict to
        ``settle_now`` on the loop afterwards (``usage.complete`` does not)."""
        return self._verifier.verify_now(key, context, cost=cost)

    async def limit_token(
        self, token: VerifiedToken, ratelimits: Sequence[RateLimit], *, cost: int = 1
    ) -> Verdict:
        """Spend ``cost`` on ``ratelimits`` (per-call limits, as ``verify`` takes
        them) for a verified access token, on the counters its key's own
        verifications with the same limits use: a key and its tokens share one
        budget. The verdict has no key record, only the limits decided."""
        workspace_id = self.tokens.verifier.workspace_of(token.api_id)
        if workspace_id is None or not ratelimits:
            return Verdict(Code.VALID)
        return await self._verifier.limit_token(
            workspace_id, token.api_id, token.key_id, cost, ratelimits
        )

    def settle_now(self, verdict: Verdict) -> None:
        """On the service's loop: count a ``verify_now`` verdict as ``verify``
        counts its own (outcome metrics, the key's last use, limit notices)."""
        self._outcomes[verdict.code] += 1
        self._verifier.settle(verdict, self.clock.now())

    async def release(self, leases: Sequence[str], *, principal: Principal | None = None) -> None:
        """Give back the concurrency slots a verification took (``Verdict.leases``).
        With ``principal`` (which needs ``keys.verify``), leases of other
        workspaces are ignored."""
        if principal is not None:
            principal.require("keys.verify")
        await self._verifier.release(leases, principal)

    async def failed_attempts_of(self, principal: Principal, ip: str) -> AttemptsState:
        """One client IP's failed verifications: what this node saw (failures, a
        block it holds) and what the limiter has left of the IP's allowance (read
        without spending). The counter is server-wide (guessing is per IP, across
        workspaces), so reading it takes its own permission, ``limits.read``."""
        principal.require("limits.read")
        return await self.failed_attempts.peek(ip, self.clock.now())

    def on_key_change(self, hook: KeyChangeHook) -> None:
        """Call ``hook(key_id)`` after any change to a key on this node: the
        place a cross-node invalidation channel attaches."""
        self._ctx.key_change_hooks.append(hook)

    def invalidate_key(self, key_id: str) -> None:
        """Evict a key changed elsewhere (called by an invalidation channel)."""
        self._ctx.apply_remote("key", key_id, None)
        self.changes.publish("key", key_id)

    async def _scheduled_upkeep(self) -> int:
        """The scheduler pass's upkeep: purge expired pickups, apply usage
        retention, sign audit checkpoints, evaluate alert rules, notify secrets due
        for rotation, rotate token signing keys and retire them from the JWKS, and
        drop expired browser sessions and portal links, and retire the server-secret
        versions no key uses any more."""
        purged = await self.pickups.purge_expired()
        await self.usage.purge(self.clock.now())
        await self.audit.checkpoint()
        await self.alerts.evaluate()
        await self.secret_rotation.check_due()
        await self.tokens.upkeep()
        await self.web_sessions.purge()
        await self.server_secret.retire_unused()
        return purged

    @property
    def limiter_errors(self) -> int:
        """Verifications the limiter could not decide (failed open or closed)."""
        return self._verifier.limiter_errors

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the store answers: for health checks."""
        await self.store.ping()

    async def start_dispatcher(self) -> WebhookDispatcher:
        """Deliver webhooks from this node in the background until ``close()``
        (``keystead serve`` does; embedded users call it on the nodes that should
        send). Several nodes may run one: each delivery attempt is made once."""
        return await self.webhooks.start_dispatcher()

    async def flush(self) -> None:
        await self._verifier.flush()
        await self.usage.flush()
        await self.secret_consumers.recorder.flush()

    def start_scheduler(self, interval_s: float | None = None) -> None:
        """Carry out rotation policies and expiry notices in the background
        (``keystead serve`` does; one node acts at a time, see docs/lifecycle.md)."""
        self.scheduler.start(
            self.settings.scheduler_interval_s if interval_s is None else interval_s
        )

    def _start_exports(self) -> None:
        """Feed committed usage batches, audit entries and alerts to the configured
        sinks (``KEYSTEAD_EXPORT_URLS``); nothing is hooked without sinks."""
        hub = self.exports
        if not hub.enabled:
            return
        self.usage.recorder.on_written = lambda records: hub.offer(from_usage(records))
        self.store.on_audit = lambda records: hub.offer(from_audit(records))
        self.alerts.on_change = lambda alert: hub.offer([from_alert(alert)])
        hub.start()

    async def close(self) -> None:
        await self.leaks.close()
        await self.scheduler.stop()
        await self.tokens.close()
        if self.invalidation is not None:
            bus, self.invalidation = self.invalidation, None
            await bus.close()
        await self.shedder.stop()
        await self.server_secret.close()
        await self._verifier.close()
        await self.secret_consumers.recorder.close()
        await self.usage.recorder.close()
        await self.exports.close()
        await self.limiter.close()
        await self.webhooks.stop_dispatcher()
        await self.store.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"Keystead({self.store!r})"


__all__ = ["Keystead"]
