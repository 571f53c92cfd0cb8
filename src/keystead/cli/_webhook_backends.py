"""The webhook operations of the CLI backends: the interface, and its local
(in-process service) and remote (HTTP client) implementations as mixins of
``LocalBackend`` and ``RemoteBackend``."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # loaded by the backend that uses them, not by every command
    from pydantic import BaseModel

    from keystead.client import Client
    from keystead.core.authz import Principal
    from keystead.service import Keystead

Json = dict[str, Any]
T = TypeVar("T")


class WebhookBackend(Protocol):
    def create_webhook(self, spec: Json) -> Json: ...
    def list_webhooks(self) -> list[Json]: ...
    def get_webhook(self, webhook_id: str) -> Json: ...
    def update_webhook(self, webhook_id: str, changes: Json) -> Json: ...
    def delete_webhook(self, webhook_id: str) -> None: ...
    def rotate_webhook_secret(self, webhook_id: str, expire_old_after_s: int | None) -> Json: ...
    def list_deliveries(
        self, *, webhook_id: str | None, status: str | None, cursor: str | None, limit: int
    ) -> Json: ...
    def get_delivery(self, delivery_id: str) -> Json: ...
    def replay_delivery(self, delivery_id: str) -> Json: ...


def _json(model: BaseModel) -> Json:
    return model.model_dump(mode="json")


class LocalWebhooks:
    """Webhooks on the local store, as the local operator, in the HTTP API's shapes."""

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        raise NotImplementedError

    def _service(self) -> Keystead:
        raise NotImplementedError

    def _operator(self) -> Principal:
        raise NotImplementedError

    def create_webhook(self, spec: Json) -> Json:
        from keystead.http import webhook_schemas as http

        ks, who = self._service(), self._operator()
        return _json(http.created_webhook_out(self._run(ks.webhooks.create(who, **spec))))

    def list_webhooks(self) -> list[Json]:
        from keystead.http import webhook_schemas as http

        ks, who = self._service(), self._operator()
        return [_json(http.webhook_out(w)) for w in self._run(ks.webhooks.list(who))]

    def get_webhook(self, webhook_id: str) -> Json:
        from keystead.http import webhook_schemas as http

        ks, who = self._service(), self._operator()
        return _json(http.webhook_out(self._run(ks.webhooks.get(who, webhook_id))))

    def update_webhook(self, webhook_id: str, changes: Json) -> Json:
        from keystead.http import webhook_schemas as http

        ks, who = self._service(), self._operator()
        return _json(http.webhook_out(self._run(ks.webhooks.update(who, webhook_id, changes))))

    def delete_webhook(self, webhook_id: str) -> None:
        ks, who = self._service(), self._operator()
        self._run(ks.webhooks.delete(who, webhook_id))

    def rotate_webhook_secret(self, webhook_id: str, expire_old_after_s: int | None) -> Json:
        from keystead.http import webhook_schemas as http

        ks, who = self._service(), self._operator()
        rotation = (
            ks.webhooks.rotate_secret(who, webhook_id)
            if expire_old_after_s is None
            else ks.webhooks.rotate_secret(who, webhook_id, expire_old_after_s=expire_old_after_s)
        )
        return _json(http.created_webhook_out(self._run(rotation)))

    def list_deliveries(
        self, *, webhook_id: str | None, status: str | None, cursor: str | None, limit: int
    ) -> Json:
        from keystead.http import webhook_schemas as http

        ks, who = self._service(), self._operator()
        page = self._run(
            ks.webhooks.deliveries(
                who, webhook_id=webhook_id, status=status, cursor=cursor, limit=limit
            )
        )
        return {
            "items": [_json(http.delivery_out(d)) for d in page.items],
            "next_cursor": page.next_cursor,
        }

    def get_delivery(self, delivery_id: str) -> Json:
        from keystead.http import webhook_schemas as http

        ks, who = self._service(), self._operator()
        return _json(http.delivery_detail_out(self._run(ks.webhooks.delivery(who, delivery_id))))

    def replay_delivery(self, delivery_id: str) -> Json:
        from keystead.http import webhook_schemas as http

        ks, who = self._service(), self._operator()
        return _json(http.delivery_out(self._run(ks.webhooks.replay(who, delivery_id))))


class RemoteWebhooks:
    """Webhooks on a Keystead server."""

    _client: Client

    def create_webhook(self, spec: Json) -> Json:
        fields = dict(spec)
        return self._client.create_webhook(fields.pop("url"), fields.pop("events"), **fields)

    def list_webhooks(self) -> list[Json]:
        return self._client.list_webhooks()

    def get_webhook(self, webhook_id: str) -> Json:
        return self._client.get_webhook(webhook_id)

    def update_webhook(self, webhook_id: str, changes: Json) -> Json:
        return self._client.update_webhook(webhook_id, changes)

    def delete_webhook(self, webhook_id: str) -> None:
        self._client.delete_webhook(webhook_id)

    def rotate_webhook_secret(self, webhook_id: str, expire_old_after_s: int | None) -> Json:
        return self._client.rotate_webhook_secret(webhook_id, expire_old_after_s=expire_old_after_s)

    def list_deliveries(
        self, *, webhook_id: str | None, status: str | None, cursor: str | None, limit: int
    ) -> Json:
        return self._client.list_deliveries(
            webhook_id=webhook_id, status=status, cursor=cursor, limit=limit
        )

    def get_delivery(self, delivery_id: str) -> Json:
        return self._client.get_delivery(delivery_id)

    def replay_delivery(self, delivery_id: str) -> Json:
        return self._client.replay_delivery(delivery_id)


__all__ = ["LocalWebhooks", "RemoteWebhooks", "WebhookBackend"]
