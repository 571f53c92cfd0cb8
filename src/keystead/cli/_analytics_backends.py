"""The analytics operations of the CLI backends: the interface, and its local and
remote implementations as mixins of ``LocalBackend`` and ``RemoteBackend``."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from keystead.core.analytics import series_json, top_json

if TYPE_CHECKING:  # loaded by the backend that uses them, not by every command
    from keystead.client import Client
    from keystead.core.authz import Principal
    from keystead.service import Keystead

Json = dict[str, Any]
T = TypeVar("T")


class AnalyticsBackend(Protocol):
    def usage_series(self, query: Json) -> Json: ...
    def usage_top(self, query: Json) -> Json: ...


class LocalAnalytics:
    """Analytics of the local store, as the local operator. ``query`` holds the
    scope (``key_id``/``owner_id``/``api_id``), ``since``/``until`` and the rest."""

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        raise NotImplementedError

    def _service(self) -> Keystead:
        raise NotImplementedError

    def _operator(self) -> Principal:
        raise NotImplementedError

    def usage_series(self, query: Json) -> Json:
        ks, who = self._service(), self._operator()
        args = dict(query)
        start, end = args.pop("since", None), args.pop("until", None)
        return series_json(self._run(ks.analytics.series(who, start=start, end=end, **args)))

    def usage_top(self, query: Json) -> Json:
        ks, who = self._service(), self._operator()
        args = dict(query)
        start, end = args.pop("since", None), args.pop("until", None)
        return top_json(self._run(ks.analytics.top(who, start=start, end=end, **args)))


class RemoteAnalytics:
    """Analytics of a Keystead server."""

    _client: Client

    def usage_series(self, query: Json) -> Json:
        return self._client.usage_series(**query)

    def usage_top(self, query: Json) -> Json:
        return self._client.usage_top(**query)


__all__ = ["AnalyticsBackend", "LocalAnalytics", "RemoteAnalytics"]
