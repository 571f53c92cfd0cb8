"""What every sub-service shares: store, clock, settings, hasher and caches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from keystead.config import Settings
from keystead.core.authz import Principal
from keystead.core.clock import Clock
from keystead.core.hashing import KeyHasher
from keystead.core.models import Api
from keystead.core.verify import VerifiableKey
from keystead.limits import Limiter
from keystead.service.limiting import KeyLimits
from keystead.store.base import Store
from keystead.store.cache import TtlLruCache

KeyChangeHook = Callable[[str], None]


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

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    def key_changed(self, key_id: str) -> None:
        """Evict a key on this node at once and tell the registered hooks
        (the cross-node invalidation channel plugs in here)."""
        self.generation += 1
        self.keys.invalidate_id(key_id)
        for hook in self.key_change_hooks:
            hook(key_id)

    def api_keys_changed(self, api_id: str) -> None:
        self.generation += 1
        self.apis.invalidate(api_id.encode())
        self.keys.invalidate_where(lambda cached: cached.record.key.api_id == api_id)

    def plan_changed(self, plan_id: str) -> None:
        self.generation += 1
        self.keys.invalidate_where(lambda cached: cached.record.key.plan_id == plan_id)

    def owner_changed(self, workspace_id: str, owner_id: str) -> None:
        self.generation += 1
        self.keys.invalidate_where(
            lambda cached: (
                cached.record.key.owner_id == owner_id
                and cached.record.key.workspace_id == workspace_id
            )
        )
