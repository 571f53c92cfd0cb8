"""Reading a leaked key's usage for the exposure analysis
(``keystead.core.exposure``): what it did between its leak and its revocation,
against what it did before.

The window is read as raw records of the one key (the ``key_id, at`` index),
at most ``MAX_RECORDS``; past that its count comes from the minute rollups
and its distinct IPs, countries and user agents from a distinct read of the
whole window, so no new value is missed. A kind of value that no use in the
window carries is not read from the history either: it cannot be new. The history is read as alert
baselines are (``service/alert_evaluation.py``): the key's hour rollups over
``BASELINE_DAYS`` before the leak's hour, plus the minute rollups of that hour
up to the leak, and the distinct networks, countries and user agents of its
raw records over the same days (raw records are kept 30 days by default).

The incident opened for a leak carries the analysis in its evidence
(``exposure``): ``for_leak`` is the leak response's hook
(``LeakService.exposure``), run once the key is revoked. Uses still buffered by the usage writer at
that moment are not in it yet, and a key rotated with a grace period keeps
working: ``reassess`` runs it again later, up to the key's revocation or now
(``POST /v1/incidents/{id}/exposure``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from keystead.core.authz import Principal
from keystead.core.detectors import ip_range
from keystead.core.exposure import Exposure, History, assess
from keystead.core.models import Key
from keystead.core.usage import bucket_start
from keystead.errors import NotFound, ValidationError
from keystead.service import fields
from keystead.service.context import ServiceContext
from keystead.service.incidents import IncidentService
from keystead.service.leak_times import leak_time
from keystead.service.leak_times import leaked_at as leak_time_of
from keystead.store.custody import Incident
from keystead.store.leaks import LeakRecord

BASELINE_DAYS = 30
_COLUMNS = ("ip", "country", "user_agent")
MAX_RECORDS = 20_000
"""Raw records of the window read at most: a bound on memory and time."""


class LeakExposure:
    def __init__(self, ctx: ServiceContext, incidents: IncidentService) -> None:
        self._ctx = ctx
        self._store = ctx.store
        self._incidents = incidents

    async def analyse_exposure(
        self, workspace_id: str, key_id: str, leaked_at: datetime, until: datetime
    ) -> Exposure:
        """The key's exposure from ``leaked_at`` to ``until`` (its revocation,
        or now for a key still live); an ``until`` before the leak is an empty
        window."""
        t0 = leaked_at.timestamp()
        t1 = max(t0, until.timestamp())
        end = datetime.fromtimestamp(t1, UTC)
        records = await self._store.usage_between(
            workspace_id, leaked_at, end, limit=MAX_RECORDS + 1, key_id=key_id
        )
        requests_after, beyond = None, None
        columns: tuple[str, ...] = _COLUMNS
        if len(records) > MAX_RECORDS:
            records = records[:MAX_RECORDS]
            requests_after = await self._count(workspace_id, key_id, t0, t1)
            beyond = await self._seen(workspace_id, key_id, _COLUMNS, leaked_at, end)
        else:  # a kind of value no use after the leak carries cannot be new
            columns = tuple(c for c in _COLUMNS if any(getattr(r, c) for r in records))
        history = await self._history(workspace_id, key_id, leaked_at, columns)
        return assess(history, records, t0, t1, requests_after=requests_after, beyond=beyond)

    async def for_leak(self, key: Key, leak: LeakRecord) -> dict[str, Any]:
        """The leak response's hook (``LeakService.exposure``): given the key
        after the response, its exposure from the leak time to its revocation
        (or now), for the incident's evidence."""
        until = key.revoked_at or self._ctx.now()
        found = await self.analyse_exposure(key.workspace_id, key.id, leak_time(leak), until)
        return found.as_json()

    async def reassess(
        self, principal: Principal, incident_id: str, *, leaked_at: object = None
    ) -> Incident:
        """Run the analysis of an incident's key again and keep it in the
        incident's evidence (``exposure``). The leak time: ``leaked_at`` if
        given, else the key's reported leak, else the one of the exposure kept.
        Needs ``incidents.read`` and ``incidents.write``."""
        principal.require("incidents.write")
        incident = await self._incidents.get(principal, incident_id)
        ws = principal.workspace_id
        when = fields.timestamp(leaked_at, "leaked_at")
        if when is None:
            when = await leak_time_of(self._store, ws, incident.key_id)
        if when is None:
            when = _kept_leak_time(incident)
        if when is None:
            raise ValidationError(
                f"no leak of key '{incident.key_id}' was reported: name leaked_at",
                field="leaked_at",
            )
        key = await self._store.get_key(ws, incident.key_id)
        now = self._ctx.now()
        until = now if key is None or key.revoked_at is None else key.revoked_at
        found = await self.analyse_exposure(ws, incident.key_id, when, until)
        evidence = {**incident.evidence, "exposure": found.as_json()}
        before = incident.evidence.get("exposure") or {}
        self._ctx.audit(
            principal,
            "incident.exposure",
            "incident",
            incident.id,
            before={"label": before.get("label")},
            after={"label": found.label, "leaked_at": when.isoformat()},
        )
        values = {"evidence": evidence, "updated_at": now}
        updated = await self._store.update_incident(ws, incident.id, values)
        if updated is None:
            raise NotFound(f"no incident '{incident_id}'")
        return updated

    async def _count(self, workspace_id: str, key_id: str, t0: float, t1: float) -> int:
        rows = await self._store.get_rollups(
            workspace_id,
            "key",
            key_id,
            "minute",
            since=bucket_start(t0, "minute"),
            until=math.ceil(t1),
            sketches=False,
        )
        return sum(r.count for _, r in rows)

    async def _seen(
        self,
        workspace_id: str,
        key_id: str,
        columns: tuple[str, ...],
        since: datetime,
        until: datetime,
    ) -> dict[str, set[str]]:
        seen: dict[str, set[str]] = {}
        for column in columns:
            found = await self._store.usage_seen(workspace_id, [key_id], column, since, until)
            seen[column] = found.get(key_id, set())
        return seen

    async def _history(
        self, workspace_id: str, key_id: str, leaked_at: datetime, columns: tuple[str, ...]
    ) -> History | None:
        """The history; first-seen values only of ``columns``."""
        t0 = leaked_at.timestamp()
        since = leaked_at - timedelta(days=BASELINE_DAYS)
        hour = bucket_start(t0, "hour")
        store = self._store
        hours = await store.baseline_rollups(
            workspace_id, [key_id], bucket_start(since.timestamp(), "hour"), hour
        )
        first: int | None = None
        requests = 0
        if key_id in hours:
            first, rollup = hours[key_id]
            requests = rollup.count
        minutes = await store.get_rollups(
            workspace_id,
            "key",
            key_id,
            "minute",
            since=hour,
            until=bucket_start(t0, "minute"),
            sketches=False,
        )
        if minutes:
            requests += sum(r.count for _, r in minutes)
            first = hour if first is None else first
        seen = await self._seen(workspace_id, key_id, columns, since, leaked_at)
        if first is None and not any(seen.values()):
            return None
        ips = seen.get("ip")
        countries, agents = seen.get("country"), seen.get("user_agent")
        return History(
            requests=requests,
            seconds=t0 - (hour if first is None else first),
            ip_ranges=None if ips is None else frozenset(ip_range(ip) for ip in ips),
            countries=None if countries is None else frozenset(countries),
            user_agents=None if agents is None else frozenset(agents),
        )


def _kept_leak_time(incident: Incident) -> datetime | None:
    kept = incident.evidence.get("exposure")
    if isinstance(kept, dict) and isinstance(kept.get("leaked_at"), str):
        try:
            return datetime.fromisoformat(kept["leaked_at"])
        except ValueError:
            return None
    return None


__all__ = ["BASELINE_DAYS", "MAX_RECORDS", "LeakExposure"]
