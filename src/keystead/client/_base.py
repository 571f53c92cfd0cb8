"""The transport under the client: authentication, requests, errors, JSON checks."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from types import TracebackType
from typing import Any, Self
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


class BaseClient:
    """The connection to one Keystead server and the request helpers every
    group of methods uses."""

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

    def __enter__(self) -> Self:
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
        return list_of(self._json(method, path, **kwargs), "items")


def list_of(answer: Any, member: str) -> list[dict[str, Any]]:
    """The list in ``{member: [...]}``."""
    items = answer.get(member) if isinstance(answer, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ApiError(200, "Invalid response", f"expected {{'{member}': [...]}}", None)
    return items


def seg(value: str) -> str:
    """One path segment, percent-encoded so an id cannot change the route."""
    if not value:
        raise ValueError("an id is required")
    return quote(value, safe="")


def compact(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in values.items()
    }


__all__ = ["BaseClient", "compact", "jsonable", "list_of", "seg"]
