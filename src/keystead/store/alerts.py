"""The store interface of alert rules, alerts, and the usage reads that
evaluating them needs."""

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
    ) -> Alert | None:
        """Change an alert (status, acknowledgement, action) and append events,
        in one transaction."""
        ...

    async def window_rollups(
        self, workspace_id: str, scope: str, since: int, until: int
    ) -> dict[str, Rollup]:
        """Minute rollups of every id of a scope (key, owner, api) with buckets in
        [since, until), merged per scope id."""
        ...

    async def usage_between(
        self, workspace_id: str, since: datetime, until: datetime, *, limit: int
    ) -> list[UsageRecord]:
        """Raw records of a workspace in [since, until), oldest first, at most ``limit``."""
        ...

    async def usage_history(
        self, workspace_id: str, key_ids: Sequence[str], since: datetime, until: datetime
    ) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, int]]:
        """Per key, over [since, until): countries seen, user agents seen, requests."""
        ...


__all__ = ["AlertStore"]
