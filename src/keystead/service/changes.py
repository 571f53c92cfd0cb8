"""The change feed: which key, API, plan, owner, root key or secret changed, for the
subscribers of this node (``GET /v1/events/invalidations``).

The feed hears the changes made on this node (the service's change hooks) and,
through the invalidation bus, those made on the other nodes. Each change gets
a sequence number, and the feed keeps the last ``HISTORY`` of them: a
subscriber that comes back with the id of the last change it saw (SSE's
``Last-Event-ID``) is handed what it missed, or ``all`` ("flush everything")
when the feed cannot tell (another node, or too long ago). A subscriber that
falls behind by ``QUEUE_SIZE`` changes gets ``all`` too.

Changes carry ids only, never key material. Most changes come without their
workspace (the service announces ``(kind, id)``), so ``visible`` looks each one
up in the subscriber's workspace, once per workspace, and drops what is not
the subscriber's business: nothing of another workspace is ever shown.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from keystead.core.authz import Principal
from keystead.core.clock import Clock
from keystead.core.models import RootKey
from keystead.store.audit import AuditFilter
from keystead.store.base import Store

HISTORY = 4096
"""Changes kept for subscribers that reconnect."""
QUEUE_SIZE = 1000
"""Changes a subscriber may fall behind by before it is told to flush everything."""
DELETED_WITHIN_S = 3600.0
"""How far back a key deletion is looked up in the audit log."""
_SCOPES_KEPT = 4096

Apply = Callable[[str, str | None, str | None], None]
Flush = Callable[[], None]


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a changed object lives, for narrowed root keys: its API and owner
    (None: of no API, no owner), or the changed root key itself."""

    api_id: str | None = None
    owner_id: str | None = None
    root_key: RootKey | None = None


_WORKSPACE = Scope()


@dataclass(frozen=True, slots=True)
class Change:
    """``kind`` is key, api, plan, owner, root_key, secret (``mount/path``) or all
    (flush everything)."""

    seq: int
    kind: str
    id: str | None
    workspace_id: str | None


class Subscription:
    """One subscriber's changes: ``backlog`` (missed while away, or ``all``),
    then what ``next`` hands out as changes happen."""

    def __init__(
        self, feed: ChangeFeed, workspace_id: str, backlog: list[Change], queue_size: int
    ) -> None:
        self.workspace_id = workspace_id
        self.backlog = backlog
        self.position = feed.head
        """The feed's sequence number when this subscription started."""
        self._feed = feed
        self._queue: deque[Change] = deque()
        self._queue_size = queue_size
        self._wake = asyncio.Event()

    def offer(self, change: Change) -> None:
        if len(self._queue) >= self._queue_size:
            self._queue.clear()
            change = Change(change.seq, "all", None, None)
        self._queue.append(change)
        self._wake.set()

    async def next(self, timeout: float) -> Change | None:
        """The next change, or None after ``timeout`` seconds (or ``interrupt``)."""
        if not self._queue:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                return None
        return self._queue.popleft() if self._queue else None

    def interrupt(self) -> None:
        """Wake a pending ``next`` (the client went away)."""
        self._wake.set()

    def close(self) -> None:
        self._feed.unsubscribe(self)


class ChangeFeed:
    """Changes of this node and of the others, numbered, for subscribers."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        history: int = HISTORY,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.epoch = secrets.token_hex(4)
        """Names this feed in event ids: a subscriber coming back to another node
        (or after a restart) cannot resume, and is told to flush everything."""
        self.head = 0
        self._store = store
        self._clock = clock
        self._history: deque[Change] = deque(maxlen=history)
        self._queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self._scopes: OrderedDict[tuple[int, str], Scope | None] = OrderedDict()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, kind: str, ident: str | None, workspace_id: str | None = None) -> None:
        """Record a change and hand it to the subscribers it may concern (a
        change hook: never raises, never waits). Token denials are not a cached
        answer's business: they travel between nodes only (remote verifiers read
        the revocation document)."""
        if kind == "token":
            return
        if ident is None:
            kind = "all"
        self.head += 1
        change = Change(self.head, kind, ident, workspace_id)
        self._history.append(change)
        for subscriber in self._subscribers:
            if workspace_id is None or workspace_id == subscriber.workspace_id:
                subscriber.offer(change)

    def relay(self, apply: Apply, flush: Flush) -> tuple[Apply, Flush]:
        """``apply`` and ``flush`` of the invalidation bus, also publishing the
        other nodes' changes here."""

        def relayed_apply(kind: str, ident: str | None, workspace_id: str | None) -> None:
            apply(kind, ident, workspace_id)
            self.publish(kind, ident, workspace_id)

        def relayed_flush() -> None:
            flush()
            self.publish("all", None)

        return relayed_apply, relayed_flush

    def event_id(self, seq: int) -> str:
        return f"{self.epoch}.{seq}"

    def subscribe(self, workspace_id: str, last_event_id: str | None = None) -> Subscription:
        """A new subscriber of one workspace; ``last_event_id`` resumes after
        that change. Without one, the backlog is ``all``: whatever the
        subscriber holds may be older than this subscription."""
        subscription = Subscription(
            self, workspace_id, self._missed(workspace_id, last_event_id), self._queue_size
        )
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def _missed(self, workspace_id: str, last_event_id: str | None) -> list[Change]:
        everything = [Change(self.head, "all", None, None)]
        seq = self._seq_of(last_event_id)
        if seq is None or seq > self.head:
            return everything
        oldest = self._history[0].seq if self._history else self.head + 1
        if seq < oldest - 1:
            return everything
        return [
            change
            for change in self._history
            if change.seq > seq and change.workspace_id in (None, workspace_id)
        ]

    def _seq_of(self, event_id: str | None) -> int | None:
        if not event_id:
            return None
        epoch, _, seq = event_id.partition(".")
        if epoch != self.epoch or not seq.isdigit() or len(seq) > 18:
            return None
        return int(seq)

    async def visible(self, principal: Principal, change: Change) -> dict[str, str] | None:
        """The event to show ``principal`` for ``change``: ``{"kind", "id"}``,
        ``{"kind": "all"}``, or None when the change is not its business
        (another workspace, or outside the root key's scope: what verification
        and listing with that root key can see: keys of its APIs and owner, the
        root keys within its scope)."""
        if change.kind == "all" or change.id is None:
            return {"kind": "all"}
        workspace_id = principal.workspace_id
        if change.workspace_id is not None and change.workspace_id != workspace_id:
            return None
        event = {"kind": change.kind, "id": change.id}
        if change.kind == "secret":
            mount, _, path = change.id.partition("/")
            return event if principal.may("read", mount, path) else None
        if not principal.grants.covers("keys.verify"):
            return None  # a token that only reads secrets hears only of secrets
        narrowed = principal.api_ids is not None or principal.owner_id is not None
        if change.workspace_id is not None and not narrowed and change.kind != "root_key":
            return event
        scope = await self._scope(change, workspace_id)
        if scope is None:
            return None
        if scope.api_id is not None and not principal.sees_api(scope.api_id):
            return None
        if change.kind in ("key", "owner") and not principal.sees_owner(scope.owner_id):
            return None
        rk = scope.root_key
        if rk is not None and not principal.encloses(rk.permissions, rk.api_ids, rk.owner_id):
            return None
        return event

    async def _scope(self, change: Change, workspace_id: str) -> Scope | None:
        marker = (change.seq, workspace_id)
        if marker in self._scopes:
            return self._scopes[marker]
        scope = await self._look_up(change, workspace_id)
        self._scopes[marker] = scope
        if len(self._scopes) > _SCOPES_KEPT:
            self._scopes.popitem(last=False)
        return scope

    async def _look_up(self, change: Change, workspace_id: str) -> Scope | None:
        """Where the changed object lives in this workspace; None: not here."""
        store, ident = self._store, str(change.id)
        if change.kind == "key":
            key = await store.get_key(workspace_id, ident)
            if key is not None:
                return Scope(key.api_id, key.owner_id)
            return await self._deleted_key(workspace_id, ident)
        if change.kind == "api":
            api = await store.get_api(workspace_id, ident)
            return None if api is None else Scope(api.id)
        if change.kind == "plan":
            plan = await store.get_plan(workspace_id, ident)
            return None if plan is None else _WORKSPACE
        if change.kind == "root_key":
            listed = await store.list_root_keys(workspace_id)
            found = next((r for r in listed if r.id == ident), None)
            return None if found is None else Scope(root_key=found)
        if change.kind == "owner":
            owner = await store.get_owner(workspace_id, ident)
            return None if owner is None else Scope(owner_id=owner.owner_id)
        return _WORKSPACE  # an unknown kind: shown (it only makes clients flush)

    async def _deleted_key(self, workspace_id: str, key_id: str) -> Scope | None:
        """A key deleted from this workspace: its audit entry says so (and what
        it was), written in the transaction that deleted it."""
        since = datetime.fromtimestamp(self._clock.now() - DELETED_WITHIN_S, UTC)
        where = AuditFilter(action="key.delete", target_id=key_id, since=since)
        found = await self._store.list_audit(workspace_id, where, before=None, limit=1)
        if not found:
            return None
        before: Any = found[0].record.changes.get("before")
        if not isinstance(before, dict):
            return _WORKSPACE
        api_id, owner_id = before.get("api_id"), before.get("owner_id")
        return Scope(
            api_id if isinstance(api_id, str) else None,
            owner_id if isinstance(owner_id, str) else None,
        )


_SECRET_READERS = ("secrets.read", "secrets.admin", "secrets.*")


def reads_some_secret(principal: Principal) -> bool:
    """Whether ``principal`` may read some secret (a ``secrets.read``, ``admin`` or
    ``*`` grant on any path) and is not narrowed to APIs or an owner."""
    if principal.narrowed:
        return False
    return any(grant.partition(":")[0] in _SECRET_READERS for grant in principal.grants.grants)


__all__ = [
    "HISTORY",
    "QUEUE_SIZE",
    "Change",
    "ChangeFeed",
    "Subscription",
    "reads_some_secret",
]
