"""The store interface of alert rules, alerts, and the usage reads that
evaluating them needs.

``AlertStore`` is a protocol apart from the SQL code because it is part of ``Store``,
the one interface the service holds and a second backend implements.
tests/store/test_store_protocol.py holds ``SqlStore`` to it, signature by signature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from keystead.core.alerts import Alert, AlertRule
from keystead.core.events import Event
from keystead.core.usage import Rollup, UsageRecord


class AlertStore(Protocol):
    async def insert_alert_rule(self, rule: AlertRule) -> None: ...
    async def get_alert_rule(self, workspace_id: str, rule_id: str) -> AlertRule | None: ...
    async def list_alert_rules(self, workspace_id: str | None) -> list[AlertRule]:
        """A workspace's rules, oldest first (``None``: the enabled rules of all)."""
        ...

    async def update_alert_rule(
        self, workspace_id: str, rule_id: str, values: Mapping[str, Any]
    ) -> AlertRule | None: ...
    async def delete_alert_rule(self, workspace_id: str, rule_id: str) -> bool: ...

    async def raise_alert(self, alert: Alert, events: Sequence[Event]) -> tuple[Alert, bool]:
        """Open ``alert``, writing ``events`` in the same transaction, unless an
        unresolved one has its dedupe key: that one gets ``count`` + 1 and the new
        ``last_seen`` and evidence. Returns the stored alert and whether it is new."""
        ...

    async def get_alert(self, workspace_id: str, alert_id: str) -> Alert | None: ...
    async def list_alerts(
        self,
        workspace_id: str,
        *,
        status: str | None,
        severity: str | None,
        after: str | None,
        limit: int,
    ) -> list[Alert]: ...
    async def update_alert(
        self,
        workspace_id: str,
        alert_id: str,
        values: Mapping[str, Any],
        events: Sequence[Event] = (),
        *,
        unseen_since: datetime | None = None,
    ) -> Alert | None:
        """Change an alert (status, acknowledgement, action) and append events,
        in one transaction. With ``unseen_since``, only an unresolved alert last
        seen before then is changed (else nothing is written: ``None``)."""
        ...

    async def stale_alerts(self, rule_id: str, unseen_since: datetime) -> list[Alert]:
        """A rule's unresolved alerts last seen before ``unseen_since``."""
        ...

    async def window_rollups(
        self, workspace_id: str, scope: str, since: int, until: int
    ) -> dict[str, Rollup]:
        """Minute rollups of every id of a scope (key, owner, api) with buckets in
        [since, until), merged per scope id."""
        ...

    async def usage_between(
        self,
        workspace_id: str,
        since: datetime,
        until: datetime,
        *,
        limit: int,
        key_id: str | None = None,
    ) -> list[UsageRecord]:
        """Raw records of a workspace (or of one key) in [since, until), oldest
        first, at most ``limit``."""
        ...

    async def usage_seen(
        self,
        workspace_id: str,
        key_ids: Sequence[str],
        column: str,
        since: datetime,
        until: datetime,
    ) -> dict[str, set[str]]:
        """Per key, the distinct values of a raw-record ``column`` (``country``,
        ``user_agent``, ``ip``) in [since, until)."""
        ...

    async def baseline_rollups(
        self, workspace_id: str, key_ids: Sequence[str], since: int, until: int
    ) -> dict[str, tuple[int, Rollup]]:
        """Per key with traffic, the first hour bucket in [since, until) and the
        merged hour rollups of the range."""
        ...


__all__ = ["AlertStore"]
