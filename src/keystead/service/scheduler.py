"""The lifecycle scheduler: carries out rotation policies and expiry notices.

Every node runs the loop; only the holder of the ``lifecycle`` lease (a row in
the store, so it works on PostgreSQL and SQLite alike) acts in a given pass.
A key is never rotated twice even if two passes overlap: the store links a key
to its successor only while it has none. Each notice is sent once: the store
marks it sent in the same transaction that appends its event.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from keystead.core import events
from keystead.core.authz import Principal
from keystead.core.permissions import GrantSet
from keystead.core.rotation import RotationPolicy, due_at, effective, ends_at, warn_at
from keystead.errors import Conflict, KeysteadError, NotFound
from keystead.service.context import ServiceContext
from keystead.service.rotation import RotationService
from keystead.store.base import Store
from keystead.store.lifecycle import LifecycleCandidate

log = logging.getLogger("keystead.scheduler")

LEASE = "lifecycle"
SCHEDULER_ACTOR = "scheduler"
_PAGE = 500
_POLICY_CAUSE = {"source": "policy", "reason": "max_age", "reference": None}


@dataclass(slots=True, frozen=True)
class DueKey:
    """A key whose rotation policy says it must be rotated now."""

    candidate: LifecycleCandidate
    policy: RotationPolicy
    due_at: datetime
    new_key_id: str | None = None
    pickup_id: str | None = None


@dataclass(slots=True)
class PassReport:
    """What one scheduler pass did (``acted`` is False when another node held the lease)."""

    acted: bool
    scanned: int = 0
    rotated: list[DueKey] = field(default_factory=list)
    warned: int = 0
    expired: int = 0
    purged: int = 0
    seconds: float = 0.0


def system_principal(workspace_id: str) -> Principal:
    """Who the scheduler acts as: everything, within one workspace."""
    return Principal(workspace_id=workspace_id, actor=SCHEDULER_ACTOR, grants=GrantSet(["*"]))


class Scheduler:
    def __init__(
        self,
        ctx: ServiceContext,
        rotation: RotationService,
        *,
        node_id: str | None = None,
    ) -> None:
        self._ctx = ctx
        self._rotation = rotation
        self.node_id = node_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.purge: Callable[[], Awaitable[int]] | None = None
        """Erases expired pickups (set by the facade)."""
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def due(self, principal: Principal, *, within_s: int = 0) -> list[DueKey]:
        """Keys of the principal's workspace (and APIs) due for rotation within
        ``within_s`` seconds: what ``keys rotate --due --dry-run`` lists."""
        principal.require("keys.read")
        return await self._due_in(principal, within_s)

    async def _due_in(self, principal: Principal, within_s: int) -> list[DueKey]:
        horizon = self._ctx.now() + timedelta(seconds=within_s)
        found = []
        async for candidate in self._candidates(horizon):
            key = candidate.key
            if key.workspace_id != principal.workspace_id or not principal.sees_api(key.api_id):
                continue
            if not principal.sees_owner(key.owner_id):
                continue
            due = _due(candidate, horizon)
            if due is not None:
                found.append(due)
        return found

    async def rotate_due(self, principal: Principal) -> list[DueKey]:
        """Rotate every key of the principal's workspace that is due now, each
        new key going to a pickup for its owner (nobody here is its owner)."""
        principal.require("keys.rotate")
        done = []
        for due in await self._due_in(principal, 0):
            rotated = await self._rotate(principal, due)
            if rotated is not None:
                done.append(rotated)
        return done

    async def run_once(self, *, lease_s: float = 60.0) -> PassReport:
        """One pass over every workspace, if this node holds (or takes) the lease."""
        started = time.perf_counter()
        now = self._ctx.now()
        if not await self._ctx.store.acquire_lease(
            LEASE, self.node_id, now, now + timedelta(seconds=lease_s)
        ):
            return PassReport(acted=False)
        report = PassReport(acted=True)
        async for candidate in self._candidates(now):
            report.scanned += 1
            await self._act(candidate, now, report)
        if self.purge is not None:
            report.purged = await self.purge()
        report.seconds = time.perf_counter() - started
        if report.rotated or report.warned or report.expired:
            self._ctx.events_written()
        return report

    def start(self, interval_s: float) -> None:
        """Run a pass every ``interval_s`` seconds in the background."""
        if self._task is None and interval_s > 0:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(interval_s), name="keystead-scheduler")

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Let a pass in progress finish (cancelling one mid-transaction could
        leave a connection unreturned), then stop; cancel only past ``timeout_s``."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping.set()
            try:
                await asyncio.wait_for(task, timeout_s)
            except TimeoutError:
                log.warning("lifecycle pass still running after %.0f s; cancelled", timeout_s)
            with contextlib.suppress(KeysteadError):
                await self._ctx.store.release_lease(LEASE, self.node_id)

    async def _loop(self, interval_s: float) -> None:
        while not self._stopping.is_set():
            try:
                report = await self.run_once(lease_s=max(3 * interval_s, 10.0))
                if report.acted and (report.rotated or report.expired or report.warned):
                    log.info(
                        "lifecycle pass: %d rotated, %d warned, %d expired of %d keys in %.3f s",
                        len(report.rotated),
                        report.warned,
                        report.expired,
                        report.scanned,
                        report.seconds,
                    )
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive a failed pass
                log.warning("lifecycle pass failed; retrying next interval", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), interval_s)

    async def _candidates(self, horizon: datetime) -> AsyncIterator[LifecycleCandidate]:
        """The keys that may need something by ``horizon``, each once; not every
        key: keys with a policy of their own (few, partially indexed), keys of
        each API with a policy old enough to be due or warned (index: api,
        created_at), and keys whose expiry passed or is near (index: expires_at).
        A pass over a million young keys reads none of them."""
        store = self._ctx.store
        seen: set[str] = set()
        widest_warning = 0
        scans: list[Callable[[str | None], Awaitable[list[LifecycleCandidate]]]] = [
            lambda after: store.keys_with_own_policy(after=after, limit=_PAGE)
        ]
        for api_id, raw in await store.policy_apis():
            try:
                policy = RotationPolicy.parse(raw)
            except KeysteadError:
                continue  # validated on write; an unreadable policy is skipped
            warn = policy.warn_before_s or 0
            widest_warning = max(widest_warning, warn)
            if policy.max_age_s is not None:
                cutoff = horizon + timedelta(seconds=warn - policy.max_age_s)
                scans.append(functools.partial(_aged, store, api_id, cutoff))
        expiring_before = horizon + timedelta(seconds=widest_warning)
        now = self._ctx.now()
        scans.append(
            lambda after: store.keys_expiring(expiring_before, now, after=after, limit=_PAGE)
        )
        for scan in scans:
            after = None
            while True:
                page = await scan(after)
                for candidate in page:
                    if candidate.key.id not in seen:
                        seen.add(candidate.key.id)
                        yield candidate
                if len(page) < _PAGE:
                    break
                after = page[-1].key.id

    async def _act(self, candidate: LifecycleCandidate, now: datetime, report: PassReport) -> None:
        key = candidate.key
        if (
            key.expires_at is not None
            and key.expires_at <= now
            and candidate.expired_notified_at is None
        ):
            event = events.key_event(events.KEY_EXPIRED, key, now)
            report.expired += await self._ctx.store.mark_notified(
                "expired_notified_at", [(key.id, event)], now
            )
            return
        due = _due(candidate, now)
        if due is not None:
            rotated = await self._rotate(system_principal(key.workspace_id), due)
            if rotated is not None:
                report.rotated.append(rotated)
            return
        policy = _policy_of(candidate)
        warn = warn_at(key, policy)
        if warn is not None and warn <= now and candidate.expiring_notified_at is None:
            end = ends_at(key, policy)
            event = events.key_event(
                events.KEY_EXPIRING,
                key,
                now,
                ends_at=None if end is None else end.isoformat(),
                reason="rotation_due" if end != key.expires_at else "expires",
            )
            report.warned += await self._ctx.store.mark_notified(
                "expiring_notified_at", [(key.id, event)], now
            )

    async def _rotate(self, principal: Principal, due: DueKey) -> DueKey | None:
        try:
            rotation = await self._rotation.rotate(
                principal,
                due.candidate.key.id,
                grace_period_s=due.policy.grace_period_s,
                cause=_POLICY_CAUSE,
                deliver=True,
            )
        except (Conflict, NotFound):
            return None  # rotated or removed meanwhile: nothing to do
        return DueKey(
            due.candidate, due.policy, due.due_at, rotation.new.key.id, rotation.pickup_id
        )


async def _aged(
    store: Store, api_id: str, cutoff: datetime, after: str | None
) -> list[LifecycleCandidate]:
    return await store.keys_aged(api_id, cutoff, after=after, limit=_PAGE)


def _policy_of(candidate: LifecycleCandidate) -> RotationPolicy | None:
    try:
        return effective(candidate.key, candidate.api_policy)
    except KeysteadError:
        return None  # policies are validated on write; an unreadable one is skipped


def _due(candidate: LifecycleCandidate, horizon: datetime) -> DueKey | None:
    key = candidate.key
    if key.revoked_at is not None or key.rotated_to is not None or not key.enabled:
        return None
    if key.expires_at is not None and key.expires_at <= horizon:
        return None  # expired (or expiring) anyway: rotating it would revive it
    policy = _policy_of(candidate)
    if policy is None:
        return None
    when = due_at(key, policy)
    if when is None or when > horizon:
        return None
    return DueKey(candidate, policy, when)


__all__ = ["LEASE", "DueKey", "PassReport", "Scheduler", "system_principal"]
