"""The clients match the server: both clients have every route of the HTTP API,
each method requests a route it names, and the CLI's local backend answers the
shapes the HTTP API answers, field for field (the CLI prints the same JSON in
local and remote mode)."""

from __future__ import annotations

import inspect
import re
from typing import Any

from fastapi.routing import APIRoute

from keystead.cli._local import LocalBackend
from keystead.client import AsyncClient, Client
from keystead.client._call import Endpoint
from keystead.client._invalidation import PATH as INVALIDATIONS
from keystead.config import Settings
from keystead.http.app import create_app

from .conftest import App

_MOVING = {"updated_at", "last_used_at"}


def _same_shape(remote: dict[str, Any], local: dict[str, Any]) -> None:
    assert set(remote) == set(local)
    for name in set(remote) - _MOVING:
        assert remote[name] == local[name], name


def test_local_answers_match_the_http_api(app: App, settings: Settings) -> None:
    ks = app.client
    api = ks.create_api("parity", limits={"failure_policy": "closed"})
    plan = ks.create_plan(
        "p", ratelimits=[{"name": "r", "limit": 5, "duration_s": 1}], quota={"limit": 9}
    )
    key = ks.create_key(api["id"], plan_id=plan["id"], credits={"remaining": 5}, owner_id="o")
    owner = ks.put_owner("o", concurrency={"limit": 2})
    remote_verdict = ks.verify_key(key["key"], cost=0)

    local = LocalBackend(settings, None)
    try:
        _same_shape(ks.get_api(api["id"]), local.get_api(api["id"]))
        _same_shape(ks.get_plan(plan["id"]), local.get_plan(plan["id"]))
        _same_shape(ks.get_key(key["id"]), local.get_key(key["id"]))
        _same_shape(owner, local.get_owner("o"))
        local_verdict = local.verify_key(key["key"], {}, cost=0, ratelimits=None)
        local_attempts = local.failed_attempts("192.0.2.1")
    finally:
        local.close()

    assert set(remote_verdict) == set(local_verdict)
    assert [item["name"] for item in remote_verdict["limits"]] == [
        item["name"] for item in local_verdict["limits"]
    ]
    remote_attempts = ks.failed_attempts("192.0.2.1")
    assert set(remote_attempts) == set(local_attempts)


# -- both clients against the server's routes ----------------------------------------

_PUBLIC = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/metrics"}
_SAMPLES = {
    "str": "x_1",
    "Sequence[str]": ["a"],
    "Mapping[str, Any]": {"a": 1},
    "Sequence[Mapping[str, Any]]": [{"a": 1}],
    "Sequence[UsageReport]": [],
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


def test_the_clients_cover_every_route_of_the_server() -> None:
    declared = {route for e in _endpoints(Client).values() for route in e.routes}
    streamed = {("GET", INVALIDATIONS)}  # read by the clients' invalidation listeners

    assert declared | streamed == _server_routes()


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
