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
as the incident's cause and evidence.

One leak row per key (``store.leaks``): a second report of the same key answers
what the first did and does nothing again. The row is claimed before anything
is done, so two nodes told at once act once.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from keystead.core import keyformat
from keystead.core.authz import Principal
from keystead.core.ids import looks_like_id, new_id
from keystead.core.models import Key, Page
from keystead.core.permissions import GrantSet
from keystead.errors import NotFound, ValidationError
from keystead.service import fields
from keystead.service.context import ServiceContext
from keystead.service.fields import page_cursor, page_size
from keystead.service.github_keys import GitHubKeys
from keystead.service.incidents import IncidentService
from keystead.service.leak_policy import LeakPolicies
from keystead.service.pickups import scope_of
from keystead.store.leaks import LeakPolicy, LeakRecord

MAX_REPORTS = 1000
GITHUB_MAX_REPORTS = 10_000
"""GitHub sends as many matches as it found at once; its body limit bounds them too."""
MAX_URL = 2000
MAX_TYPE = 200
STALE_CLAIM = timedelta(seconds=60)
"""A ``pending`` claim older than this is taken over: its node died mid-way."""
_SOURCE_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
METRIC_SOURCES = frozenset({"github", "scanner", "api"})
_OUTCOMES = {"revoke": "revoked", "rotate": "rotated", "notify": "notified"}

ExposureHook = Callable[[Key, LeakRecord], Awaitable[Mapping[str, Any] | None]]
"""Given the key after the response and its leak: what its use since the leak
shows, for the incident's evidence (``exposure``)."""


@dataclass(slots=True, frozen=True)
class LeakReport:
    """One token as reported. ``token`` is the plaintext: it is hashed and
    looked up, never stored, logged or returned."""

    token: str = field(repr=False)
    source: str = "api"
    url: str | None = None
    exposed_at: datetime | None = None
    token_type: str | None = None


@dataclass(slots=True, frozen=True)
class LeakAnswer:
    """What a report of one token found and did.

    ``status``: ``live`` (the key worked until now and was handled by its policy),
    ``already_revoked`` or ``unknown``. ``outcome``: revoked, rotated, notified,
    already_revoked or unknown. The same answer comes back for a repeated report.
    """

    token_hash: str
    token_type: str | None
    status: str
    outcome: str
    key_id: str | None = None
    start: str | None = None
    leak_id: str | None = None
    incident_id: str | None = None
    repeated: bool = False

    @property
    def true_positive(self) -> bool:
        return self.status != "unknown"


def token_hash(token: str) -> str:
    """SHA-256 hex of the token: GitHub's ``token_hash``."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_report(value: LeakReport) -> LeakReport:
    """Refuse what no row can hold; the token itself is checked by parsing it."""
    if not isinstance(value.token, str) or not value.token:
        raise ValidationError("token is a non-empty string", field="token")
    if not isinstance(value.source, str) or _SOURCE_RE.fullmatch(value.source) is None:
        raise ValidationError("source is 1 to 64 of A-Z a-z 0-9 _ . : -", field="source")
    for name, text, limit in (("url", value.url, MAX_URL), ("type", value.token_type, MAX_TYPE)):
        if text is not None and (
            not isinstance(text, str) or not 1 <= len(text) <= limit or "\x00" in text
        ):
            raise ValidationError(f"{name} is text of 1 to {limit} characters", field=name)
    fields.timestamp(value.exposed_at, "exposed_at")
    return value


class LeakService:
    def __init__(
        self, ctx: ServiceContext, incidents: IncidentService, policies: LeakPolicies
    ) -> None:
        self._ctx = ctx
        self._incidents = incidents
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

    # -- reports ----------------------------------------------------------------

    async def report(self, principal: Principal, reports: Sequence[LeakReport]) -> list[LeakAnswer]:
        """Needs ``leaks.report``. Answers in the order of ``reports``."""
        principal.require("leaks.report")
        checked = _batch(reports, MAX_REPORTS)

        def visible(key: Key) -> bool:
            return (
                key.workspace_id == principal.workspace_id
                and principal.sees_api(key.api_id)
                and principal.sees_owner(key.owner_id)
            )

        reporter = f"leak:{principal.actor}"[:80]
        return [await self._one(r, visible, reporter) for r in checked]

    async def report_github(
        self, reports: Sequence[LeakReport], workspaces: Collection[str]
    ) -> list[LeakAnswer]:
        """A report GitHub signed (the face checked it). Acts on keys of the
        ``workspaces`` named (``*``: any), each in its own workspace."""
        checked = _batch(reports, GITHUB_MAX_REPORTS)
        every = "*" in workspaces

        def visible(key: Key) -> bool:
            return every or key.workspace_id in workspaces

        return [await self._one(r, visible, "leak:github") for r in checked]

    async def _one(
        self, report: LeakReport, visible: Callable[[Key], bool], reporter: str
    ) -> LeakAnswer:
        digest = token_hash(report.token)
        key = None
        if keyformat.is_well_formed(report.token):
            key = await self._ctx.store.find_key(self._ctx.hasher.hash(report.token))
        if key is None or not visible(key):
            self.counts[_metric_source(report.source), "unknown"] += 1
            return LeakAnswer(digest, report.token_type, "unknown", "unknown")
        lock, waiting = self._locks.get(key.id, (asyncio.Lock(), 0))
        self._locks[key.id] = (lock, waiting + 1)
        try:
            async with lock:
                answer = await self._respond(key, report, digest, reporter)
        finally:
            lock, waiting = self._locks[key.id]
            if waiting == 1:
                del self._locks[key.id]
            else:
                self._locks[key.id] = (lock, waiting - 1)
        if not answer.repeated:
            self.counts[_metric_source(report.source), answer.outcome] += 1
        return answer

    async def _respond(
        self, key: Key, report: LeakReport, digest: str, reporter: str
    ) -> LeakAnswer:
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
                return _answer(existing, key, report, repeated=True)
            leak = existing
        if revoked:
            return _answer(leak, key, report)
        try:
            policy = await self.policies.effective(key.workspace_id, key.api_id)
            done = await self._compromise(key, leak, policy, reporter)
        except BaseException:
            await self._ctx.store.release_leak(key.workspace_id, leak.id)
            raise
        return _answer(done, key, report)

    async def _compromise(
        self, key: Key, leak: LeakRecord, policy: LeakPolicy, reporter: str
    ) -> LeakRecord:
        """The compromise procedure, as the policy says, by the leak's reporter."""
        actor = Principal(workspace_id=key.workspace_id, actor=reporter, grants=GrantSet(["*"]))
        described = describe(leak)
        where = leak.url or "an unknown place"
        compromise = await self._incidents.compromise(
            actor,
            key.id,
            response=policy.action,
            replace=policy.replace and key.rotated_to is None,
            grace_period_s=policy.grace_period_s,
            notify=policy.notify,
            deliver=True,
            reason=f"leaked ({leak.source}): {where}"[:1000],
            cause={"source": f"leak:{leak.source}", "reference": where[:500], "leak": described},
            evidence=lambda revoked: self._evidence(revoked, leak, described),
        )
        values = {"outcome": _OUTCOMES[policy.action], "incident_id": compromise.incident.id}
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


def describe(leak: LeakRecord) -> dict[str, Any]:
    """The leak as the incident's cause and evidence hold it (no token)."""
    return {
        "leak_id": leak.id,
        "source": leak.source,
        "url": leak.url,
        "type": leak.token_type,
        "token_hash": leak.token_hash,
        "exposed_at": None if leak.exposed_at is None else leak.exposed_at.isoformat(),
        "reported_at": leak.reported_at.isoformat(),
        "reported_by": leak.reported_by,
    }


def _metric_source(source: str) -> str:
    """Sources as /metrics labels them: a reporter names its own, so only the
    known ones keep their name (the label set stays small)."""
    return source if source in METRIC_SOURCES else "other"


def _batch(reports: Sequence[LeakReport], limit: int) -> list[LeakReport]:
    if not isinstance(reports, Sequence) or not 1 <= len(reports) <= limit:
        raise ValidationError(f"send 1 to {limit} reports", field="reports")
    return [check_report(r) for r in reports]


def _answer(
    leak: LeakRecord, key: Key, report: LeakReport, *, repeated: bool = False
) -> LeakAnswer:
    revoked = leak.outcome == "already_revoked"
    return LeakAnswer(
        token_hash=leak.token_hash,
        token_type=report.token_type,
        status="already_revoked" if revoked else "live",
        outcome=leak.outcome,
        key_id=key.id,
        start=key.start,
        leak_id=leak.id,
        incident_id=leak.incident_id,
        repeated=repeated,
    )


__all__ = [
    "GITHUB_MAX_REPORTS",
    "MAX_REPORTS",
    "ExposureHook",
    "LeakAnswer",
    "LeakReport",
    "LeakService",
    "check_report",
    "describe",
    "token_hash",
]
