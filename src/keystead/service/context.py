"""What every sub-service shares: store, clock, settings, hasher and caches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from keystead.config import Settings
from keystead.core.audit import AuditRecord, diff
from keystead.core.authz import Principal
from keystead.core.clock import Clock
from keystead.core.hashing import KeyHasher
from keystead.core.ids import new_id
from keystead.core.models import Api
from keystead.core.verify import VerifiableKey
from keystead.events import audit as pending_audit
from keystead.limits import Limiter
from keystead.service.audit_batch import AuditWriter
from keystead.service.limiting import KeyLimits
from keystead.service.secret_cache import SealedLatest
from keystead.store.base import Store
from keystead.store.cache import TtlLruCache

KeyChangeHook = Callable[[str], None]
ChangeHook = Callable[[str, str | None, str | None], None]
"""``hook(kind, id, workspace_id)`` after a change on this node; ``kind`` is one of
key, api, plan, owner, root_key, secret (id ``mount/path``), token (id = the API
whose token denials or signing keys changed), server_secret (id = the version
added or retired), all (ids only, never key material or a value)."""
TokenHook = Callable[[str | None], None]
"""``hook(api_id)`` when another node changed an API's token denials or signing
keys; ``hook(None)``: anything may have changed (a flush)."""


@dataclass(slots=True, frozen=True)
class CachedKey:
    """What the key cache holds: the verification record and its compiled limits."""

    record: VerifiableKey
    limits: KeyLimits


@dataclass(slots=True, eq=False)
class ServiceContext:
    store: Store
    clock: Clock
    settings: Settings
    hasher: KeyHasher
    limiter: Limiter
    keys: TtlLruCache[CachedKey]
    root_keys: TtlLruCache[Principal]
    apis: TtlLruCache[Api]
    generation: int = 0
    key_change_hooks: list[KeyChangeHook] = field(default_factory=list)
    change_hooks: list[ChangeHook] = field(default_factory=list)
    event_hooks: list[Callable[[], None]] = field(default_factory=list)
    """Called after events reach the outbox on this node (wakes the dispatcher)."""
    token_hooks: list[TokenHook] = field(default_factory=list)
    """Told of other nodes' token changes (the in-process token verifier)."""
    older_hashers: tuple[KeyHasher, ...] = ()
    """The older server-secret versions still in use, newest first: tried on a
    lookup that missed under ``hasher`` (``service.server_secret``)."""
    imported_prefixes: frozenset[str] | None = None
    """The prefixes of imported keys, None when none was ever imported: a key not
    in Keystead's format is refused before any lookup unless keys were imported
    (``service.imported_lookup``)."""
    secret_version_hooks: list[Callable[[], None]] = field(default_factory=list)
    """Told when another node added or retired a server-secret version."""
    secrets: SealedLatest = field(default_factory=SealedLatest)
    """The sealed latest version of recently read secrets (``secret_cache``)."""
    reads: AuditWriter = field(init=False)
    """Commits the audit entries of reads, many per transaction (``audit_read``)."""

    def __post_init__(self) -> None:
        self.reads = AuditWriter(self.store)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    def audit(
        self,
        principal: Principal,
        action: str,
        target_type: str,
        target_id: str | None,
        *,
        before: object = None,
        after: object = None,
    ) -> None:
        """Queue the audit entry of a change for the transaction about to make it
        (call right before the store write); only changed fields, no secrets."""
        pending_audit.push(self._record(principal, action, target_type, target_id, before, after))

    def audit_read(
        self,
        principal: Principal,
        action: str,
        target_type: str,
        target_id: str | None,
        *,
        after: object = None,
    ) -> Awaitable[None]:
        """Commit the audit entry of a read (batched with concurrent reads'): the
        answer, to await, is done once it is in the chain and raises
        (StoreUnavailable) when it could not be written. Await it before handing out
        what was read."""
        return self.reads.write(
            self._record(principal, action, target_type, target_id, None, after)
        )

    def _record(
        self,
        principal: Principal,
        action: str,
        target_type: str,
        target_id: str | None,
        before: object,
        after: object,
    ) -> AuditRecord:
        origin = pending_audit.current_origin()
        return AuditRecord(
            id=new_id("aud", self.clock.now()),
            workspace_id=principal.workspace_id,
            at=self.now(),
            actor=principal.actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            changes=diff(before, after),
            ip=origin.ip,
            user_agent=origin.user_agent,
            request_id=origin.request_id,
        )

    def key_changed(self, key_id: str) -> None:
        """Evict a key on this node at once and tell the registered hooks
        (the cross-node invalidation channel plugs in here)."""
        self._evict_key(key_id)
        for hook in self.key_change_hooks:
            hook(key_id)
        self._announce("key", key_id)

    def events_written(self) -> None:
        for hook in self.event_hooks:
            hook()

    def api_keys_changed(self, api_id: str) -> None:
        self._evict_api(api_id)
        self._announce("api", api_id)

    def plan_changed(self, plan_id: str) -> None:
        self._evict_plan(plan_id)
        self._announce("plan", plan_id)

    def owner_changed(self, workspace_id: str, owner_id: str) -> None:
        self._evict_owner(workspace_id, owner_id)
        self._announce("owner", owner_id, workspace_id)

    def secret_versions_changed(self, version: int) -> None:
        """A server-secret version was added or retired here: the others re-read."""
        self._announce("server_secret", str(version))

    def root_key_changed(self, root_key_id: str) -> None:
        self._evict_root_key(root_key_id)
        self._announce("root_key", root_key_id)

    def secret_changed(self, workspace_id: str, mount: str, path: str) -> None:
        """A stored secret changed: dropped from the cache of read versions, and
        announced (to other nodes, ``keystead run --watch`` and other listeners of
        the change stream)."""
        self.secrets.invalidate((workspace_id, mount, path))
        self._announce("secret", f"{mount}/{path}", workspace_id)

    def tokens_changed(self, api_id: str, workspace_id: str) -> None:
        """An API's token denials or signing keys changed on this node: tell the others."""
        self._announce("token", api_id, workspace_id)

    def apply_remote(self, kind: str, ident: str | None, workspace_id: str | None) -> None:
        """Evict what a change on another node touched: the same eviction as the
        local change, without announcing it again. Unknown: flush everything."""
        if ident is None or kind == "all":
            self.flush_caches()
        elif kind == "key":
            self._evict_key(ident)
        elif kind == "api":
            self._evict_api(ident)
        elif kind == "plan":
            self._evict_plan(ident)
        elif kind == "owner" and workspace_id is not None:
            self._evict_owner(workspace_id, ident)
        elif kind == "root_key":
            self._evict_root_key(ident)
        elif kind == "token":
            for hook in self.token_hooks:
                hook(ident)
        elif kind == "server_secret":
            for version_hook in self.secret_version_hooks:
                version_hook()
        elif kind == "secret":
            mount, _, path = ident.partition("/")
            if workspace_id is None or not path:
                self.secrets.clear()
            else:
                self.secrets.invalidate((workspace_id, mount, path))
        else:
            self.flush_caches()

    def use_hashers(self, newest: KeyHasher, older: tuple[KeyHasher, ...]) -> None:
        """Hash under ``newest`` from now on, and try ``older`` on a miss. The
        caches are keyed by the newest version's hashes, and a cached miss was a
        miss under the versions then known: both are dropped on any change."""
        if newest is self.hasher and older == self.older_hashers:
            return
        self.hasher = newest
        self.older_hashers = older
        self.flush_caches()

    def flush_caches(self) -> None:
        """Drop every cached key, root key and API (e.g. after missed messages)."""
        self.generation += 1
        self.keys.clear()
        self.root_keys.clear()
        self.apis.clear()
        self.secrets.clear()
        for hook in self.token_hooks:
            hook(None)

    def _announce(self, kind: str, ident: str, workspace_id: str | None = None) -> None:
        for hook in self.change_hooks:
            hook(kind, ident, workspace_id)

    def _evict_key(self, key_id: str) -> None:
        self.generation += 1
        self.keys.invalidate_id(key_id)

    def _evict_api(self, api_id: str) -> None:
        self.generation += 1
        self.apis.invalidate(api_id.encode())
        self.keys.invalidate_where(lambda cached: cached.record.key.api_id == api_id)

    def _evict_plan(self, plan_id: str) -> None:
        self.generation += 1
        self.keys.invalidate_where(lambda cached: cached.record.key.plan_id == plan_id)

    def _evict_owner(self, workspace_id: str, owner_id: str) -> None:
        self.generation += 1
        self.keys.invalidate_where(
            lambda cached: (
                cached.record.key.owner_id == owner_id
                and cached.record.key.workspace_id == workspace_id
            )
        )

    def _evict_root_key(self, root_key_id: str) -> None:
        self.root_keys.invalidate_id(root_key_id)
