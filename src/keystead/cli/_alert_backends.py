"""The alert operations of the CLI backends: the interface, and its local and
remote implementations as mixins of ``LocalBackend`` and ``RemoteBackend``."""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from keystead.cli._runtime import UsageProblem

if TYPE_CHECKING:  # loaded by the backend that uses them, not by every command
    from keystead.client import Client
    from keystead.core.alerts import Alert, AlertRule
    from keystead.core.authz import Principal
    from keystead.service import Keystead

Json = dict[str, Any]
T = TypeVar("T")
_HIDDEN = frozenset({"workspace_id", "dedupe_key"})


class AlertBackend(Protocol):
    def create_alert_rule(self, fields: Json) -> Json: ...
    def list_alert_rules(self) -> list[Json]: ...
    def delete_alert_rule(self, rule_id: str) -> None: ...
    def list_alerts(
        self, *, status: str | None, severity: str | None, cursor: str | None, limit: int
    ) -> Json: ...
    def get_alert(self, alert_id: str) -> Json: ...
    def acknowledge_alert(self, alert_id: str) -> Json: ...
    def resolve_alert(self, alert_id: str) -> Json: ...
    def evaluate_alerts(self) -> list[Json]: ...


def _json(item: Alert | AlertRule) -> Json:
    """The HTTP answer's shape: times in ISO 8601, no workspace or dedupe key."""
    out: Json = {}
    for name in item.__dataclass_fields__:
        if name in _HIDDEN:
            continue
        value = getattr(item, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


class LocalAlerts:
    """Alerts of the local store, as the local operator."""

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        raise NotImplementedError

    def _service(self) -> Keystead:
        raise NotImplementedError

    def _operator(self) -> Principal:
        raise NotImplementedError

    def create_alert_rule(self, fields: Json) -> Json:
        ks, who = self._service(), self._operator()
        return _json(self._run(ks.alerts.create_rule(who, **fields)))

    def list_alert_rules(self) -> list[Json]:
        ks, who = self._service(), self._operator()
        return [_json(r) for r in self._run(ks.alerts.list_rules(who))]

    def delete_alert_rule(self, rule_id: str) -> None:
        ks, who = self._service(), self._operator()
        self._run(ks.alerts.delete_rule(who, rule_id))

    def list_alerts(
        self, *, status: str | None, severity: str | None, cursor: str | None, limit: int
    ) -> Json:
        ks, who = self._service(), self._operator()
        page = self._run(
            ks.alerts.list(who, status=status, severity=severity, cursor=cursor, limit=limit)
        )
        return {"items": [_json(a) for a in page.items], "next_cursor": page.next_cursor}

    def get_alert(self, alert_id: str) -> Json:
        ks, who = self._service(), self._operator()
        return _json(self._run(ks.alerts.get(who, alert_id)))

    def acknowledge_alert(self, alert_id: str) -> Json:
        ks, who = self._service(), self._operator()
        return _json(self._run(ks.alerts.acknowledge(who, alert_id)))

    def resolve_alert(self, alert_id: str) -> Json:
        ks, who = self._service(), self._operator()
        return _json(self._run(ks.alerts.resolve(who, alert_id)))

    def evaluate_alerts(self) -> list[Json]:
        ks = self._service()
        return [_json(a) for a in self._run(ks.alerts.evaluate())]


class RemoteAlerts:
    """Alerts of a Keystead server."""

    _client: Client

    def create_alert_rule(self, fields: Json) -> Json:
        return self._client.create_alert_rule(**fields)

    def list_alert_rules(self) -> list[Json]:
        return self._client.list_alert_rules()

    def delete_alert_rule(self, rule_id: str) -> None:
        self._client.delete_alert_rule(rule_id)

    def list_alerts(
        self, *, status: str | None, severity: str | None, cursor: str | None, limit: int
    ) -> Json:
        return self._client.list_alerts(
            status=status, severity=severity, cursor=cursor, limit=limit
        )

    def get_alert(self, alert_id: str) -> Json:
        return self._client.get_alert(alert_id)

    def acknowledge_alert(self, alert_id: str) -> Json:
        return self._client.acknowledge_alert(alert_id)

    def resolve_alert(self, alert_id: str) -> Json:
        return self._client.resolve_alert(alert_id)

    def evaluate_alerts(self) -> list[Json]:
        raise UsageProblem("a server evaluates its rules on each scheduler pass")


__all__ = ["AlertBackend", "LocalAlerts", "RemoteAlerts"]
