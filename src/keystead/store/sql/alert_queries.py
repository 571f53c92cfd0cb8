"""Alert rules and alerts; the usage reads their evaluation needs (window
rollups of a whole scope, raw records of a window, a key's history: values
seen in its raw records, totals of its hour rollups).

Its methods restate ``store.alerts.AlertStore``: the protocol other backends implement too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from keystead.core.alerts import Alert, AlertRule
from keystead.core.events import Event
from keystead.core.usage import Rollup, UsageRecord
from keystead.store.sql.base import SqlBase
from keystead.store.sql.lifecycle_queries import write_events
from keystead.store.sql.rows import aware
from keystead.store.sql.tables import alert_rules, alerts, usage, usage_rollups
from keystead.store.sql.usage_queries import _rollup  # one row -> Rollup, shared

_RULE_UPDATABLE = frozenset(c.name for c in alert_rules.c if c.name not in ("id", "workspace_id"))
_ALERT_UPDATABLE = frozenset(
    {"status", "open_key", "acknowledged_by", "acknowledged_at", "resolved_at", "action"}
)
_CHUNK = 500


class AlertQueries(SqlBase):
    async def insert_alert_rule(self, rule: AlertRule) -> None:
        async with self._tx() as c:
            await c.execute(alert_rules.insert().values(**_rule_values(rule)))

    async def get_alert_rule(self, workspace_id: str, rule_id: str) -> AlertRule | None:
        t = alert_rules
        row = await self._one(
            sa.select(t).where((t.c.workspace_id == workspace_id) & (t.c.id == rule_id))
        )
        return None if row is None else _rule(row)

    async def list_alert_rules(self, workspace_id: str | None) -> list[AlertRule]:
        t = alert_rules
        stmt = sa.select(t)
        if workspace_id is None:
            stmt = stmt.where(t.c.enabled.is_(True))
        else:
            stmt = stmt.where(t.c.workspace_id == workspace_id)
        return [_rule(r) for r in await self._all(stmt.order_by(t.c.id))]

    async def update_alert_rule(
        self, workspace_id: str, rule_id: str, values: Mapping[str, Any]
    ) -> AlertRule | None:
        unknown = set(values) - _RULE_UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        t = alert_rules
        scope = (t.c.workspace_id == workspace_id) & (t.c.id == rule_id)
        async with self._tx() as c:
            await c.execute(t.update().where(scope).values(**values))
            row = (await c.execute(sa.select(t).where(scope))).first()
        return None if row is None else _rule(row)

    async def delete_alert_rule(self, workspace_id: str, rule_id: str) -> bool:
        t = alert_rules
        async with self._tx() as c:
            done = await c.execute(
                t.delete().where((t.c.workspace_id == workspace_id) & (t.c.id == rule_id))
            )
        return done.rowcount > 0

    async def raise_alert(self, alert: Alert, events: Sequence[Event]) -> tuple[Alert, bool]:
        t = alerts
        same = (t.c.workspace_id == alert.workspace_id) & (t.c.open_key == alert.dedupe_key)
        async with self._tx() as c:
            stmt = sa.select(t).where(same)
            if self.dialect == "postgresql":
                stmt = stmt.with_for_update()
            row = (await c.execute(stmt)).first()
            if row is None:
                await c.execute(t.insert().values(**_alert_values(alert)))
                await write_events(c, events)
                return alert, True
            await c.execute(
                t.update()
                .where(t.c.id == row.id)
                .values(count=t.c.count + 1, last_seen=alert.last_seen, evidence=alert.evidence)
            )
            updated = (await c.execute(sa.select(t).where(t.c.id == row.id))).first()
        assert updated is not None  # noqa: S101 - in the same transaction
        return _alert(updated), False

    async def get_alert(self, workspace_id: str, alert_id: str) -> Alert | None:
        t = alerts
        row = await self._one(
            sa.select(t).where((t.c.workspace_id == workspace_id) & (t.c.id == alert_id))
        )
        return None if row is None else _alert(row)

    async def list_alerts(
        self,
        workspace_id: str,
        *,
        status: str | None,
        severity: str | None,
        after: str | None,
        limit: int,
    ) -> list[Alert]:
        t = alerts
        stmt = sa.select(t).where(t.c.workspace_id == workspace_id)
        if status is not None:
            stmt = stmt.where(t.c.status == status)
        if severity is not None:
            stmt = stmt.where(t.c.severity == severity)
        if after is not None:
            stmt = stmt.where(t.c.id > after)
        return [_alert(r) for r in await self._all(stmt.order_by(t.c.id).limit(limit))]

    async def update_alert(
        self,
        workspace_id: str,
        alert_id: str,
        values: Mapping[str, Any],
        events: Sequence[Event] = (),
        *,
        unseen_since: datetime | None = None,
    ) -> Alert | None:
        unknown = set(values) - _ALERT_UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        t = alerts
        scope = (t.c.workspace_id == workspace_id) & (t.c.id == alert_id)
        guard = scope
        if unseen_since is not None:
            guard = scope & t.c.open_key.is_not(None) & (t.c.last_seen < unseen_since)
        try:
            async with self._tx() as c:
                done = await c.execute(t.update().where(guard).values(**values))
                if done.rowcount == 0:
                    raise _Unchanged  # roll back: no events, no audit entry
                row = (await c.execute(sa.select(t).where(scope))).first()
                await write_events(c, events)
        except _Unchanged:
            return None
        return None if row is None else _alert(row)

    async def stale_alerts(self, rule_id: str, unseen_since: datetime) -> list[Alert]:
        t = alerts
        stmt = sa.select(t).where(
            (t.c.rule_id == rule_id) & t.c.open_key.is_not(None) & (t.c.last_seen < unseen_since)
        )
        return [_alert(r) for r in await self._all(stmt.order_by(t.c.id))]

    async def window_rollups(
        self, workspace_id: str, scope: str, since: int, until: int
    ) -> dict[str, Rollup]:
        t = usage_rollups
        stmt = sa.select(t).where(
            (t.c.workspace_id == workspace_id)
            & (t.c.scope == scope)
            & (t.c.granularity == "minute")
            & (t.c.bucket >= since)
            & (t.c.bucket < until)
        )
        merged: dict[str, Rollup] = {}
        for row in await self._all(stmt.order_by(t.c.scope_id, t.c.bucket)):
            merged.setdefault(row.scope_id, Rollup()).merge(_rollup(row))
        return merged

    async def usage_between(
        self,
        workspace_id: str,
        since: datetime,
        until: datetime,
        *,
        limit: int,
        key_id: str | None = None,
    ) -> list[UsageRecord]:
        u = usage
        when = (u.c.at >= since) & (u.c.at < until)
        if key_id is None:
            where = (u.c.workspace_id == workspace_id) & when
            stmt = sa.select(u).where(where).order_by(u.c.id).limit(limit)
        else:  # the key's index, in its order: the limit stops the scan
            where = _in_workspace(workspace_id) & (u.c.key_id == key_id) & when
            stmt = sa.select(u).where(where).order_by(u.c.at).limit(limit)
        return [_record(r) for r in await self._all(stmt)]

    async def usage_seen(
        self,
        workspace_id: str,
        key_ids: Sequence[str],
        column: str,
        since: datetime,
        until: datetime,
    ) -> dict[str, set[str]]:
        u = usage
        value = u.c[column]
        seen: dict[str, set[str]] = {}
        ids = sorted(set(key_ids))
        for start in range(0, len(ids), _CHUNK):
            stmt = (
                sa.select(u.c.key_id, value.label("value"))
                .where(
                    _in_workspace(workspace_id)
                    & u.c.key_id.in_(ids[start : start + _CHUNK])
                    & (u.c.at >= since)
                    & (u.c.at < until)
                    & value.is_not(None)
                )
                .distinct()
            )
            for row in await self._all(stmt):
                seen.setdefault(row.key_id, set()).add(row.value)
        return seen

    async def baseline_rollups(
        self, workspace_id: str, key_ids: Sequence[str], since: int, until: int
    ) -> dict[str, tuple[int, Rollup]]:
        t = usage_rollups
        merged: dict[str, tuple[int, Rollup]] = {}
        ids = sorted(set(key_ids))
        for start in range(0, len(ids), _CHUNK):
            stmt = sa.select(t).where(
                (t.c.workspace_id == workspace_id)
                & (t.c.scope == "key")
                & t.c.scope_id.in_(ids[start : start + _CHUNK])
                & (t.c.granularity == "hour")
                & (t.c.bucket >= since)
                & (t.c.bucket < until)
            )
            for row in await self._all(stmt.order_by(t.c.scope_id, t.c.bucket)):
                _, total = merged.setdefault(row.scope_id, (row.bucket, Rollup()))
                total.merge(_rollup(row))
        return merged


def _in_workspace(workspace_id: str) -> sa.ColumnElement[bool]:
    """The workspace test of a read of some keys' records, written so that no
    index serves it (``workspace_id || ''``): SQLite, without statistics, would
    otherwise scan the whole workspace's (workspace_id, at) range rather than
    the keys' own (key_id, at) ones."""
    return usage.c.workspace_id.concat("") == workspace_id


class _Unchanged(Exception):
    """An update whose guard matched nothing."""


def _utc(value: datetime) -> datetime:
    stamped = aware(value)
    assert stamped is not None  # noqa: S101 - NOT NULL columns
    return stamped


def _rule_values(rule: AlertRule) -> dict[str, Any]:
    return {c.name: getattr(rule, c.name) for c in alert_rules.c}


def _rule(row: sa.Row[Any]) -> AlertRule:
    m = row._mapping
    return AlertRule(
        **{name: m[name] for name in m if name not in ("created_at", "updated_at")},
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
    )


def _alert_values(alert: Alert) -> dict[str, Any]:
    values = {c.name: getattr(alert, c.name) for c in alerts.c if c.name != "open_key"}
    values["open_key"] = None if alert.status == "resolved" else alert.dedupe_key
    return values


def _alert(row: sa.Row[Any]) -> Alert:
    m = row._mapping
    stamps = ("first_seen", "last_seen", "acknowledged_at", "resolved_at")
    return Alert(
        **{name: m[name] for name in m if name not in (*stamps, "open_key", "evidence")},
        evidence=dict(row.evidence),
        first_seen=_utc(row.first_seen),
        last_seen=_utc(row.last_seen),
        acknowledged_at=aware(row.acknowledged_at),
        resolved_at=aware(row.resolved_at),
    )


def _record(row: sa.Row[Any]) -> UsageRecord:
    return UsageRecord(
        at=_utc(row.at).timestamp(),
        workspace_id=row.workspace_id,
        api_id=row.api_id,
        key_id=row.key_id,
        owner_id=row.owner_id,
        code=row.code,
        ip=row.ip,
        country=row.country,
        user_agent=row.user_agent,
        status=row.status,
        bytes_out=row.bytes_out,
    )


__all__ = ["AlertQueries"]
