"""The clients match the server: both clients have a method for every operation
of ``/openapi.json`` (the SDK is the complete Python client, and the CLI's only
way in), and each method requests a route it names."""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

from fastapi.routing import APIRoute

from keystead.client import AsyncClient, Client
from keystead.client._call import Endpoint
from keystead.client._invalidation import PATH as INVALIDATIONS
from keystead.config import Settings
from keystead.http.app import create_app
from keystead.http.inprocess import LOCAL_BASE_URL, InProcessTransport
from keystead.service import Keystead

# -- both clients against the server's routes ----------------------------------------

_PUBLIC = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/metrics"}
_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
_SAMPLES = {
    "str": "x_1",
    "Sequence[str]": ["a"],
    "Mapping[str, Any]": {"a": 1},
    "Sequence[Mapping[str, Any]]": [{"a": 1}],
    "Sequence[UsageReport]": [],
    "int": 1,
    "Sequence[int]": [1],
    "Mapping[str, str]": {"a": "b"},
    "Mapping[str, str | None]": {"a": None},
    "int | timedelta": 86400,
    "str | Sequence[str | Mapping[str, Any]]": ["ks_token"],
    "float | datetime": 4102444800.0,
}


def _endpoints(cls: type[Any]) -> dict[str, Endpoint[Any, Any]]:
    return {name: found for name in dir(cls) if isinstance(found := getattr(cls, name), Endpoint)}


def _server_routes() -> set[tuple[str, str]]:
    app = create_app(settings=Settings(_env_file=None))
    return {
        (method, route.path_format)
        for route in app.routes
        if isinstance(route, APIRoute) and route.path not in _PUBLIC
        for method in route.methods or ()
    }


def _sample_arguments(build: Any) -> tuple[list[Any], dict[str, Any]]:
    """A value for each required parameter (self aside)."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for parameter in list(inspect.signature(build).parameters.values())[1:]:
        if parameter.default is not inspect.Parameter.empty or parameter.kind in (
            inspect.Parameter.VAR_KEYWORD,
            inspect.Parameter.VAR_POSITIONAL,
        ):
            continue
        assert parameter.annotation in _SAMPLES, f"add a sample for {parameter.annotation}"
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = _SAMPLES[parameter.annotation]
        else:
            args.append(_SAMPLES[parameter.annotation])
    return args, kwargs


def _matches(template: str, path: str) -> bool:
    parts = re.split(r"\{[^}]+\}", template)
    pattern = "[^/]+".join(re.escape(part) for part in parts)
    return re.fullmatch(pattern, path) is not None


def test_both_clients_have_the_same_methods() -> None:
    def public(cls: type[Any]) -> set[str]:
        return {name for name in dir(cls) if not name.startswith("_")}

    assert public(Client) - {"close"} == public(AsyncClient) - {"aclose"}
    assert _endpoints(Client).keys() == _endpoints(AsyncClient).keys()


def _documented_operations(settings: Settings) -> set[tuple[str, str]]:
    """Every (method, path) of the server's own ``/openapi.json``, read through
    the in-process transport the CLI uses."""
    transport = InProcessTransport(settings)
    with Client(LOCAL_BASE_URL, None, retries=0, transport=transport) as ks:
        document = ks.http.get("/openapi.json").json()
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in _HTTP_METHODS
    }


def test_the_clients_cover_every_operation_of_the_openapi(settings: Settings) -> None:
    asyncio.run(_init(settings))
    streamed = {("GET", INVALIDATIONS)}  # read by the clients' invalidation listeners
    streamed |= {("POST", "/v1/leaks/github")}  # GitHub's to call, signed by GitHub
    for client in (Client, AsyncClient):
        declared = {route for e in _endpoints(client).values() for route in e.routes}
        missing = _documented_operations(settings) - declared - streamed
        assert not missing, f"{client.__name__} has no method for {sorted(missing)}"


def test_the_openapi_documents_every_route_of_the_server(settings: Settings) -> None:
    asyncio.run(_init(settings))
    assert _documented_operations(settings) == _server_routes()


async def _init(settings: Settings) -> None:
    ks = await Keystead.open(settings=settings)
    try:
        await ks.workspaces.init()
    finally:
        await ks.close()


def test_each_method_requests_a_route_it_declares() -> None:
    client = Client("http://ks.test", "ksroot_" + "S" * 38)
    try:
        for name, found in sorted(_endpoints(Client).items()):
            args, kwargs = _sample_arguments(found.build)
            call = found.build(client, *args, **kwargs)
            assert any(
                method == call.method and _matches(template, call.path)
                for method, template in found.routes
            ), (name, call.method, call.path)
    finally:
        client.close()
