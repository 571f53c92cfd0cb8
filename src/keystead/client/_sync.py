"""The synchronous client of the Keystead HTTP API, on httpx."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from keystead import __version__
from keystead.client._errors import ApiError, ConnectionFailed, problem_from

_NOT_JSON = "the server did not answer with JSON"


class _RootKeyAuth(httpx.Auth):
    """Adds the root key as a bearer token; its repr never shows the key."""

    def __init__(self, root_key: str) -> None:
        self._root_key = root_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._root_key}"
        yield request

    def __repr__(self) -> str:
        return "_RootKeyAuth(<hidden>)"


class Client:
    """A typed client of one Keystead server, authenticated with a root key.

    Every method returns the decoded JSON answer as plain dicts; errors raise
    :class:`ApiError` (the server said no) or :class:`ConnectionFailed` (no answer).
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        root_key: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("base_url must be an http:// or https:// URL")
        if not root_key or not root_key.strip():
            raise ValueError("a root key is required")
        self.base_url = str(url).rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=_RootKeyAuth(root_key.strip()),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": f"keystead-python/{__version__}"},
        )

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- health ---------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /healthz``: whether the server is up (needs no root key)."""
        return self._object("GET", "/healthz")

    # -- APIs and roles -------------------------------------------------------

    def create_api(
        self,
        name: str,
        *,
        prefix: str | None = None,
        key_defaults: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        body = _compact(name=name, prefix=prefix, key_defaults=key_defaults)
        return self._object("POST", "/v1/apis", json=body)

    def list_apis(self) -> list[dict[str, Any]]:
        return self._items("GET", "/v1/apis")

    def get_api(self, api_id: str) -> dict[str, Any]:
        return self._object("GET", f"/v1/apis/{_seg(api_id)}")

    def delete_api(self, api_id: str) -> None:
        self._send("DELETE", f"/v1/apis/{_seg(api_id)}")

    def put_role(
        self,
        api_id: str,
        name: str,
        permissions: Sequence[str],
        *,
        description: str | None = None,
    ) -> dict[str, Any]:
        body = _compact(permissions=list(permissions), description=description)
        return self._object("PUT", f"/v1/apis/{_seg(api_id)}/roles/{_seg(name)}", json=body)

    def list_roles(self, api_id: str) -> list[dict[str, Any]]:
        return self._items("GET", f"/v1/apis/{_seg(api_id)}/roles")

    def delete_role(self, api_id: str, name: str) -> None:
        self._send("DELETE", f"/v1/apis/{_seg(api_id)}/roles/{_seg(name)}")

    # -- keys -----------------------------------------------------------------

    def create_key(self, api_id: str, **fields: Any) -> dict[str, Any]:
        """A new key; the answer holds the plaintext ``key``, shown this once.

        ``fields``: name, owner_id, meta, permissions, roles, environment,
        not_before, expires_at (datetime or ISO text), restrictions, enabled.
        """
        body = _jsonable({**fields, "api_id": api_id})
        return self._object("POST", "/v1/keys", json=_compact(**body))

    def create_keys(self, specs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Several keys at once, all or nothing; each spec names its ``api_id``."""
        body = {"keys": [_compact(**_jsonable(dict(spec))) for spec in specs]}
        return self._items("POST", "/v1/keys/batch", json=body)

    def get_key(self, key_id: str) -> dict[str, Any]:
        return self._object("GET", f"/v1/keys/{_seg(key_id)}")

    def list_keys(
        self,
        *,
        api_id: str | None = None,
        owner_id: str | None = None,
        state: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """One page: ``{"items": [...], "next_cursor": str | None}``."""
        params = _compact(api_id=api_id, owner_id=owner_id, state=state, cursor=cursor, limit=limit)
        return self._object("GET", "/v1/keys", params=params)

    def iter_keys(
        self,
        *,
        api_id: str | None = None,
        owner_id: str | None = None,
        state: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every matching key, fetching page after page."""
        cursor: str | None = None
        while True:
            page = self.list_keys(
                api_id=api_id, owner_id=owner_id, state=state, cursor=cursor, limit=page_size
            )
            yield from page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def update_key(self, key_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Partial update: an omitted field is kept, ``None`` clears it."""
        return self._object("PATCH", f"/v1/keys/{_seg(key_id)}", json=_jsonable(dict(changes)))

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        return self._object("POST", f"/v1/keys/{_seg(key_id)}/revoke")

    def disable_key(self, key_id: str) -> dict[str, Any]:
        return self._object("POST", f"/v1/keys/{_seg(key_id)}/disable")

    def enable_key(self, key_id: str) -> dict[str, Any]:
        return self._object("POST", f"/v1/keys/{_seg(key_id)}/enable")

    def delete_key(self, key_id: str) -> None:
        self._send("DELETE", f"/v1/keys/{_seg(key_id)}")

    def verify_key(
        self,
        key: str,
        *,
        permissions: str | None = None,
        ip: str | None = None,
        referrer: str | None = None,
        user_agent: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> dict[str, Any]:
        """``{"valid": bool, "code": str, ...}``; an invalid key is an answer, not an error."""
        body = _compact(
            key=key,
            permissions=permissions,
            ip=ip,
            referrer=referrer,
            user_agent=user_agent,
            method=method,
            path=path,
        )
        return self._object("POST", "/v1/keys/verify", json=body)

    # -- root keys ------------------------------------------------------------

    def create_root_key(
        self,
        *,
        name: str | None = None,
        permissions: Sequence[str] | None = None,
        api_ids: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        body = _compact(
            name=name,
            permissions=None if permissions is None else list(permissions),
            api_ids=None if api_ids is None else list(api_ids),
        )
        return self._object("POST", "/v1/root_keys", json=body)

    def list_root_keys(self) -> list[dict[str, Any]]:
        return self._items("GET", "/v1/root_keys")

    def revoke_root_key(self, root_key_id: str) -> dict[str, Any]:
        return self._object("POST", f"/v1/root_keys/{_seg(root_key_id)}/revoke")

    # -- transport ------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ConnectionFailed(f"{self.base_url} did not answer in time") from None
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"cannot reach {self.base_url} ({type(exc).__name__})") from None
        if response.is_error:
            raise problem_from(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ApiError(response.status_code, "Invalid response", _NOT_JSON, None) from None

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer = self._json(method, path, **kwargs)
        if not isinstance(answer, dict):
            raise ApiError(200, "Invalid response", "expected a JSON object", None)
        return answer

    def _items(self, method: str, path: str, **kwargs: Any) -> list[dict[str, Any]]:
        return _list_of(self._json(method, path, **kwargs), "items")


def _list_of(answer: Any, member: str) -> list[dict[str, Any]]:
    """The list in ``{member: [...]}``."""
    items = answer.get(member) if isinstance(answer, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApiError(200, "Invalid response", f"expected {{'{member}': [...]}}", None)
    return items


def _seg(value: str) -> str:
    """One path segment, percent-encoded so an id cannot change the route."""
    if not value:
        raise ValueError("an id is required")
    return quote(value, safe="")


def _compact(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in values.items()
    }


__all__ = ["Client"]
