"""Leak reports: a key's plaintext was seen in public; respond at once.

``report(principal, reports)`` takes reports of a workspace's reporters (the
scanner, people: ``leaks.report``); ``report_github(items)`` those GitHub's
secret scanning sends, whose signature the HTTP face checked. Both come down to
one path per token: a token that is not a well-formed Keystead key is
``unknown`` with no lookup; a key of another workspace (or one the reporter
cannot see) is ``unknown`` too, so a report tells nothing of other workspaces.
A key already revoked is recorded as ``already_revoked``. Any other key is
handled by its leak policy (``service.leak_policy``) through the compromise
procedure (``IncidentService.compromise``), with the leak's URL, type and time
as the incident's cause and evidence. A leaked root key (``ksroot_...``) is
revoked at once whatever the policy (``service.root_key_leaks``).

One leak row per key (``store.leaks``): a second report of the same key answers
what the first did and does nothing again. The row is claimed before anything
is done, so two nodes told at once act once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import timedelta
from typing import Any

from keystead.core import keyformat
from keystead.core.authz import Principal
from keystead.core.ids import looks_like_id, new_id
from keystead.core.models import Key, Page, RootKey
from keystead.core.permissions import GrantSet
from keystead.errors import NotFound, ValidationError
from keystead.service import fields
from keystead.service.context import ServiceContext
from keystead.service.fields import page_cursor, page_size
from keystead.service.github_keys import GitHubKeys
from keystead.service.incidents import IncidentService
from keystead.service.leak_policy import LeakPolicies
from keystead.service.leak_reports import (
    GITHUB_MAX_REPORTS,
    MAX_REPORTS,
    LeakAnswer,
    LeakReport,
    answer_of,
    checked_batch,
    describe,
    metric_source,
    provisional,
    token_hash,
)
from keystead.service.pickups import scope_of
from keystead.service.root_key_leaks import (
    find_root_key,
    is_root_token,
    revocable_by,
    revoke_leaked,
)
from keystead.service.root_keys import RootKeyService
from keystead.service.secret_lookup import find_key_any_version
from keystead.store.leaks import LeakPolicy, LeakRecord

GITHUB_BUDGET_S = 8.0
"""How long GitHub's answer may take, lookups included, before it goes out with the
responses still running (GitHub gives 30 s; the labels need the lookups only)."""
CONCURRENCY = 8
"""Keys of one report handled at once: the store's round trips overlap."""
STALE_CLAIM = timedelta(seconds=60)
"""A ``pending`` claim older than this is taken over: its node died mid-way."""
_log = logging.getLogger("keystead.leaks")
_OUTCOMES = {"revoke": "revoked", "rotate": "rotated", "notify": "notified"}

Leaked = Key | RootKey
"""What a reported token turned out to be: an API key or a root key."""
ExposureHook = Callable[[Key, LeakRecord], Awaitable[Mapping[str, Any] | None]]
"""Given the key after the response and its leak: what its use since the leak
shows, for the incident's evidence (``exposure``)."""


class LeakService:
    def __init__(
        self,
        ctx: ServiceContext,
        incidents: IncidentService,
        policies: LeakPolicies,
        root_keys: RootKeyService,
    ) -> None:
        self._ctx = ctx
        self._incidents = incidents
        self._root_keys = root_keys
        self.policies = policies
        self.exposure: ExposureHook | None = None
        """Set by the exposure analysis: its result joins the incident's evidence."""
        self.counts: Counter[tuple[str, str]] = Counter()
        """Reported tokens by (source, outcome), for /metrics; a repeated report
        is not counted again."""
        settings = ctx.settings
        self.github: GitHubKeys | None = None
        """GitHub's public keys, when ``KEYSTEAD_GITHUB_KEYS_URL`` is set."""
        if settings.github_keys_url:
            self.github = GitHubKeys(
                settings.github_keys_url, ctx.clock, refresh_s=settings.github_keys_refresh_s
            )
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        """One report of a key at a time on this node (and how many wait)."""
        self._background: set[asyncio.Future[list[LeakAnswer]]] = set()
        """GitHub reports answered before their responses finished."""

    # -- reports ----------------------------------------------------------------

    async def report(self, principal: Principal, reports: Sequence[LeakReport]) -> list[LeakAnswer]:
        """Needs ``leaks.report``. Answers in the order of ``reports``."""
        principal.require("leaks.report")
        checked = checked_batch(reports, MAX_REPORTS)

        def visible(key: Key) -> bool:
            return (
                key.workspace_id == principal.workspace_id
                and principal.sees_api(key.api_id)
                and principal.sees_owner(key.owner_id)
            )

        reporter = f"leak:{principal.actor}"[:80]
        return await self._each(checked, visible, revocable_by(principal), reporter)

    async def report_github(
        self,
        reports: Sequence[LeakReport],
        workspaces: Collection[str],
        *,
        budget_s: float = GITHUB_BUDGET_S,
    ) -> list[LeakAnswer]:
        """A report GitHub signed (the face checked it). Acts on keys of the
        ``workspaces`` named (``*``: any), each in its own workspace.

        GitHub waits 30 s for the answer, whose labels need only the lookups: the
        keys are looked up first, then handled; when that takes longer than
        ``budget_s``, the answer goes out (``outcome`` ``pending`` where the
        response is still running) and the response carries on in the background."""
        checked = checked_batch(reports, GITHUB_MAX_REPORTS)
        every = "*" in workspaces

        def visible(key: Key | RootKey) -> bool:
            return every or key.workspace_id in workspaces

        started = time.monotonic()
        found = await self._lookup(checked, visible, visible)
        work = asyncio.ensure_future(self._handle(checked, found, "leak:github"))
        left = max(0.0, budget_s - (time.monotonic() - started))
        try:
            return await asyncio.wait_for(asyncio.shield(work), left)
        except TimeoutError:
            self._background.add(work)
            work.add_done_callback(self._finished)
            return [provisional(r, key) for r, key in zip(checked, found, strict=True)]

    async def close(self) -> None:
        """Let responses still running in the background finish."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def _finished(self, work: asyncio.Future[list[LeakAnswer]]) -> None:
        self._background.discard(work)
        if not work.cancelled() and work.exception() is not None:
            _log.error("a GitHub leak report failed after its answer: %r", work.exception())

    async def _each(
        self,
        reports: Sequence[LeakReport],
        visible: Callable[[Key], bool],
        visible_root: Callable[[RootKey], bool],
        reporter: str,
    ) -> list[LeakAnswer]:
        found = await self._lookup(reports, visible, visible_root)
        return await self._handle(reports, found, reporter)

    async def _lookup(
        self,
        reports: Sequence[LeakReport],
        visible: Callable[[Key], bool],
        visible_root: Callable[[RootKey], bool],
    ) -> list[Leaked | None]:
        """Each token's key or root key, if the reporter may act on it: a token
        that is not well formed costs no lookup."""
        found: list[Leaked | None] = []
        for report in reports:
            if is_root_token(report.token):
                root_key = await find_root_key(self._ctx, report.token)
                found.append(root_key if root_key is not None and visible_root(root_key) else None)
                continue
            key = None
            if keyformat.is_well_formed(report.token):
                key = await find_key_any_version(self._ctx, report.token)
            found.append(key if key is not None and visible(key) else None)
        return found

    async def _handle(
        self, reports: Sequence[LeakReport], keys: Sequence[Leaked | None], reporter: str
    ) -> list[LeakAnswer]:
        """CONCURRENCY keys at a time, answered in the reports' order; the
        policies are read once per workspace and API for the whole batch."""
        policies: dict[tuple[str, str], LeakPolicy] = {}
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(report: LeakReport, key: Leaked | None) -> LeakAnswer:
            async with gate:
                return await self._one(report, key, reporter, policies)

        return list(await asyncio.gather(*map(one, reports, keys)))

    async def _one(
        self,
        report: LeakReport,
        key: Leaked | None,
        reporter: str,
        policies: dict[tuple[str, str], LeakPolicy],
    ) -> LeakAnswer:
        digest = token_hash(report.token)
        if key is None:
            self.counts[metric_source(report.source), "unknown"] += 1
            return LeakAnswer(digest, report.token_type, "unknown", "unknown")
        lock, waiting = self._locks.get(key.id, (asyncio.Lock(), 0))
        self._locks[key.id] = (lock, waiting + 1)
        try:
            async with lock:
                answer = await self._respond(key, report, digest, reporter, policies)
        finally:
            lock, waiting = self._locks[key.id]
            if waiting == 1:
                del self._locks[key.id]
            else:
                self._locks[key.id] = (lock, waiting - 1)
        if not answer.repeated:
            self.counts[metric_source(report.source), answer.outcome] += 1
        return answer

    async def _respond(
        self,
        key: Leaked,
        report: LeakReport,
        digest: str,
        reporter: str,
        policies: dict[tuple[str, str], LeakPolicy],
    ) -> LeakAnswer:
        known = await self._ctx.store.leak_of(key.workspace_id, key.id)
        if known is not None and known.outcome != "pending":  # the common repeat: a read
            return answer_of(known, key, report, repeated=True)
        now = self._ctx.now()
        revoked = key.revoked_at is not None
        leak = LeakRecord(
            id=new_id("lk", self._ctx.clock.now()),
            workspace_id=key.workspace_id,
            key_id=key.id,
            token_hash=digest,
            token_type=report.token_type,
            source=report.source,
            url=report.url,
            exposed_at=fields.timestamp(report.exposed_at, "exposed_at"),
            reported_at=now,
            outcome="already_revoked" if revoked else "pending",
            incident_id=None,
            reported_by=reporter,
        )
        existing = await self._ctx.store.claim_leak(leak)
        if existing is not None:
            retaken = existing.outcome == "pending" and await self._ctx.store.retake_leak(
                key.workspace_id, existing.id, now - STALE_CLAIM, now
            )
            if not retaken:
                return answer_of(existing, key, report, repeated=True)
            leak = existing
        if revoked:
            return answer_of(leak, key, report)
        try:
            if isinstance(key, RootKey):  # no policy: revoked at once
                done = await revoke_leaked(self._ctx, self._root_keys, key, leak)
            else:
                scope = (key.workspace_id, key.api_id)
                if scope not in policies:
                    policies[scope] = await self.policies.effective(*scope)
                done = await self._compromise(key, leak, policies[scope], reporter)
        except BaseException:
            await self._ctx.store.release_leak(key.workspace_id, leak.id)
            raise
        return answer_of(done, key, report)

    async def _compromise(
        self, key: Key, leak: LeakRecord, policy: LeakPolicy, reporter: str
    ) -> LeakRecord:
        """The compromise procedure, as the policy says, by the leak's reporter."""
        actor = Principal(workspace_id=key.workspace_id, actor=reporter, grants=GrantSet(["*"]))
        described = describe(leak)
        where = leak.url or "an unknown place"
        action = policy.action
        if action == "rotate" and key.rotated_to is not None:
            action = "revoke"  # its successor exists already: the leaked key need not live on
        compromise = await self._incidents.compromise(
            actor,
            key.id,
            response=action,
            replace=policy.replace and key.rotated_to is None,
            grace_period_s=policy.grace_period_s,
            notify=policy.notify,
            deliver=True,
            reason=f"leaked ({leak.source}): {where}"[:1000],
            cause={"source": f"leak:{leak.source}", "reference": where[:500], "leak": described},
            evidence=lambda revoked: self._evidence(revoked, leak, described),
        )
        values = {"outcome": _OUTCOMES[action], "incident_id": compromise.incident.id}
        finished = await self._ctx.store.finish_leak(key.workspace_id, leak.id, values)
        if finished is None:
            raise NotFound(f"no leak '{leak.id}'")
        return finished

    async def _evidence(
        self, key: Key, leak: LeakRecord, described: dict[str, Any]
    ) -> dict[str, Any]:
        found: dict[str, Any] = {"leak": described}
        if self.exposure is not None:
            exposure = await self.exposure(key, leak)
            if exposure is not None:
                found["exposure"] = dict(exposure)
        return found

    # -- reads ------------------------------------------------------------------

    async def leak_of(self, workspace_id: str, key_id: str) -> LeakRecord | None:
        """The key's leak, if one was reported: for the exposure analysis and
        the ``leaked_key_used`` rule (no permission: an internal read)."""
        return await self._ctx.store.leak_of(workspace_id, key_id)

    async def get(self, principal: Principal, leak_id: str) -> LeakRecord:
        """Needs ``incidents.read``."""
        principal.require("incidents.read")
        leak = None
        if isinstance(leak_id, str) and looks_like_id("lk", leak_id):
            leak = await self._ctx.store.get_leak(
                principal.workspace_id, leak_id, scope_of(principal)
            )
        if leak is None:
            raise NotFound(f"no leak '{leak_id}'")
        return leak

    async def list(
        self,
        principal: Principal,
        *,
        key_id: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        """Needs ``incidents.read``. Oldest first."""
        principal.require("incidents.read")
        if key_id is not None and (not isinstance(key_id, str) or len(key_id) > 40):
            raise ValidationError("key_id is a key id (key_...)", field="key_id")
        after = page_cursor("lk", cursor)
        page_size(limit)
        found = await self._ctx.store.list_leaks(
            principal.workspace_id, scope_of(principal), key_id=key_id, after=after, limit=limit + 1
        )
        items = found[:limit]
        return Page(items=items, next_cursor=items[-1].id if len(found) > limit else None)


__all__ = [
    "CONCURRENCY",
    "GITHUB_BUDGET_S",
    "GITHUB_MAX_REPORTS",
    "MAX_REPORTS",
    "ExposureHook",
    "LeakAnswer",
    "LeakReport",
    "LeakService",
    "Leaked",
    "token_hash",
]
