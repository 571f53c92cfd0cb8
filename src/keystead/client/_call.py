"""Each API call is written once, as a function that describes the request (a
``Call``: method, path, query, body and how to read the answer); ``Client`` runs
it and blocks, ``AsyncClient`` runs it and returns an awaitable.

``@endpoint(routes)`` turns such a function into a method of both clients. Its
type follows the client it is read from: ``Client.get_key(...) -> dict`` and
``AsyncClient.get_key(...) -> Awaitable[dict]``. The routes it names are the
server routes the call may use (tests/client/test_parity.py checks them).
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from urllib.parse import quote

import httpx

from keystead.client._errors import ApiError, invalid_answer

T = TypeVar("T")
P = ParamSpec("P")

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
Route = tuple[str, str]
"""(method, path template as the server names it: ``/v1/keys/{key_id}``)."""


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request and how to read its answer.

    ``lookup`` may answer without a request (a cache); ``keep`` sees each
    answer read from the server; ``instead`` may turn an ``ApiError`` into
    another call to make once (a server without an optional feature).
    """

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    lookup: Callable[[], T | None] | None = None
    keep: Callable[[T], T] | None = None
    instead: Callable[[ApiError], Call[T] | None] | None = None
    headers: Mapping[str, str] | None = field(default=None, repr=False)
    data: Mapping[str, str] | None = field(default=None, repr=False)
    """A form-encoded body (the OAuth endpoints), instead of ``json``."""
    auth: httpx.Auth | None = field(default=None, repr=False)
    """Other credentials than the client's root key (an API key, client credentials)."""

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT

    @property
    def request(self) -> dict[str, Any]:
        """The arguments of ``httpx.Client.request``."""
        args = {"method": self.method, "url": self.path, "params": self.params, "json": self.json}
        if self.headers is not None:
            args["headers"] = self.headers
        if self.data is not None:
            args["data"] = self.data
        if self.auth is not None:
            args["auth"] = self.auth
        return args

    def cached(self) -> T | None:
        return None if self.lookup is None else self.lookup()

    def kept(self, answer: T) -> T:
        return answer if self.keep is None else self.keep(answer)

    def replacement(self, error: ApiError) -> Call[T] | None:
        return None if self.instead is None else self.instead(error)


class SyncRunner(ABC):
    """Runs calls and blocks: the base of ``Client``."""

    @abstractmethod
    def run(self, call: Call[T]) -> T: ...


class AsyncRunner(ABC):
    """Runs calls on the event loop: the base of ``AsyncClient``."""

    @abstractmethod
    async def run(self, call: Call[T]) -> T: ...


class Endpoint(Generic[P, T]):
    """A call description, bound as a method of whichever client reads it."""

    def __init__(self, build: Callable[Concatenate[Any, P], Call[T]], routes: tuple[Route, ...]):
        self.build = build
        self.routes = routes
        self.name = build.__name__
        signature = inspect.signature(build)
        self.signature = signature.replace(
            parameters=list(signature.parameters.values())[1:],
            return_annotation=inspect.Signature.empty,
        )
        """What ``help()`` shows of the bound method: the arguments, without ``self``."""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Endpoint[P, T]: ...
    @overload
    def __get__(self, obj: SyncRunner, owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: AsyncRunner, owner: type[Any]) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: Any, owner: type[Any]) -> Any:
        if obj is None:
            return self
        build, run = self.build, obj.run

        @functools.wraps(build)
        def bound(*args: Any, **kwargs: Any) -> Any:
            return run(build(obj, *args, **kwargs))

        bound.__signature__ = self.signature  # type: ignore[attr-defined]
        obj.__dict__[self.name] = bound  # bind once per client
        return bound


def endpoint(
    *routes: Route,
) -> Callable[[Callable[Concatenate[Any, P], Call[T]]], Endpoint[P, T]]:
    """Make a call description a method of both clients; ``routes``: the
    (method, path template) pairs of the server that it uses."""

    def wrap(build: Callable[Concatenate[Any, P], Call[T]]) -> Endpoint[P, T]:
        return Endpoint(build, routes)

    return wrap


# -- reading answers --------------------------------------------------------------


def read_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise invalid_answer("the server did not answer with JSON", response.status_code) from None


def read_object(response: httpx.Response) -> dict[str, Any]:
    answer = read_json(response)
    if not isinstance(answer, dict):
        raise invalid_answer("expected a JSON object")
    return answer


def read_items(response: httpx.Response) -> list[dict[str, Any]]:
    return list_of(read_json(response), "items")


def read_nothing(response: httpx.Response) -> None:
    return None


def list_of(answer: Any, member: str) -> list[dict[str, Any]]:
    """The list in ``{member: [...]}``."""
    items = answer.get(member) if isinstance(answer, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise invalid_answer(f"expected {{'{member}': [...]}}")
    return items


# -- building requests ------------------------------------------------------------


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


def get(path: str, read: Callable[[httpx.Response], T], **params: Any) -> Call[T]:
    """A GET, with the query parameters that are not None."""
    return Call("GET", path, read, params=compact(**params) or None)


def post(path: str, read: Callable[[httpx.Response], T], json: Any = None) -> Call[T]:
    return Call("POST", path, read, json=json)


__all__ = [
    "IDEMPOTENT",
    "AsyncRunner",
    "Call",
    "Endpoint",
    "Route",
    "SyncRunner",
    "compact",
    "endpoint",
    "get",
    "jsonable",
    "list_of",
    "post",
    "read_items",
    "read_json",
    "read_nothing",
    "read_object",
    "seg",
]
