"""The application shell: lifespan, health, OpenAPI, error rendering, body limit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, NoReturn

import httpx
import pytest
from httpkit import BASE_URL, PROBLEM_JSON, World, assert_problem, management_routes, open_world
from starlette.types import Message

from keystead.config import Settings
from keystead.errors import ConfigurationError, StoreUnavailable
from keystead.http import create_app, problems
from keystead.service import Keystead


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


def _client(app: Any, **options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, **options), base_url=BASE_URL)


async def test_healthz_needs_no_root_key(world: World) -> None:
    response = await world.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_lifespan_opens_and_closes_the_service(settings: Settings) -> None:
    app = create_app(settings=settings)
    async with _client(app) as client:
        assert_problem(await client.get("/healthz"), 503)  # not started yet
        async with app.router.lifespan_context(app):
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            assert_problem(await client.get("/v1/apis"), 401)
            ks: Keystead = app.state.keystead
            operator = await ks.workspaces.local_operator()
            root = (await ks.root_keys.create(operator)).plaintext
            listed = await client.get("/v1/apis", headers={"Authorization": f"Bearer {root}"})
            assert listed.json() == {"items": []}
        assert app.state.keystead is None
        assert_problem(await client.get("/healthz"), 503)
        response = await client.post("/v1/keys/verify", json={"key": "k"})
        assert "not running" in assert_problem(response, 503)["detail"]


async def test_a_given_service_is_left_open(keystead: Keystead) -> None:
    app = create_app(keystead)
    async with app.router.lifespan_context(app):
        pass
    assert await keystead.workspaces.list() is not None  # still usable


async def test_openapi_documents_every_route_and_problem_answers(world: World) -> None:
    response = await world.client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    documented = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert management_routes(world.app) <= documented
    assert "rootKey" in doc["components"]["securitySchemes"]
    for method, path in management_routes(world.app):
        operation = doc["paths"][path][method.lower()]
        assert operation["security"] == [{"rootKey": []}], (method, path)
        for status, answer in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert list(answer["content"]) == [PROBLEM_JSON], (method, path, status)
    verify = doc["paths"]["/v1/keys/verify"]["post"]
    schema = verify["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["key"]
    assert schema["additionalProperties"] is False
    assert (
        "VerifyResponse"
        in verify["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    )
    created = doc["paths"]["/v1/keys"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("CreatedKeyOut")
    docs = await world.client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]


def _values_of(node: Any, name: str) -> list[Any]:
    """Every value of the member ``name`` anywhere in a JSON document."""
    if isinstance(node, dict):
        own = [node[name]] if name in node else []
        return own + [found for value in node.values() for found in _values_of(value, name)]
    if isinstance(node, list):
        return [found for item in node for found in _values_of(item, name)]
    return []


async def test_every_pattern_of_the_openapi_document_is_anchored(world: World) -> None:
    """A JSON Schema ``pattern`` matches anywhere in a string unless anchored:
    generated clients and fuzzers would send ids with text around them."""
    doc = (await world.client.get("/openapi.json")).json()
    patterns = [p for p in _values_of(doc, "pattern") if isinstance(p, str)]
    assert len(patterns) > 40
    for pattern in patterns:
        assert pattern.startswith("^") and pattern.endswith("$"), pattern


async def test_every_schema_reference_of_the_openapi_document_resolves(world: World) -> None:
    doc = (await world.client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc)
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    verify = doc["paths"]["/v1/keys/verify"]["post"]["requestBody"]["content"]
    assert "ratelimits" in verify["application/json"]["schema"]["properties"]


async def test_unexpected_errors_are_a_generic_500(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(*_args: object, **_kwargs: object) -> NoReturn:
        raise RuntimeError("internal detail /srv/secret.py")

    monkeypatch.setattr(world.ks.apis, "list", boom)
    monkeypatch.setattr(world.ks, "verify", boom)
    for response in (
        await world.client.get("/v1/apis", headers=world.auth()),
        await world.client.post("/v1/keys/verify", json={"key": "k"}, headers=world.auth()),
    ):
        problem = assert_problem(response, 500)
        assert "internal detail" not in response.text
        assert "RuntimeError" not in response.text
        assert problem["detail"].startswith("the server could not complete the request")
    logged = [r for r in caplog.records if r.name == "keystead.http"]
    assert len(logged) == 2
    assert all(r.exc_info and r.exc_info[0] is RuntimeError for r in logged)
    assert "GET /v1/apis" in logged[0].getMessage()


async def test_service_errors_keep_their_status(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unavailable(*_args: object, **_kwargs: object) -> NoReturn:
        raise StoreUnavailable("the postgresql store failed: OperationalError")

    def misconfigured(*_args: object, **_kwargs: object) -> NoReturn:
        raise ConfigurationError("secret file /etc/keystead/secret is readable by others")

    monkeypatch.setattr(world.ks.apis, "list", unavailable)
    monkeypatch.setattr(problems, "_UNAVAILABLE", {})
    response = await world.client.get("/v1/apis", headers=world.auth())
    body = assert_problem(response, 503)
    assert body["title"] == "Service Unavailable"
    assert body["detail"] == StoreUnavailable.public_detail  # the cause is logged, not told
    assert any("OperationalError" in r.getMessage() for r in caplog.records)
    monkeypatch.setattr(world.ks.apis, "list", misconfigured)
    response = await world.client.get("/v1/apis", headers=world.auth())
    assert "/etc/keystead" not in assert_problem(response, 500)["detail"]


async def test_body_limit_follows_the_settings(keystead: Keystead) -> None:
    settings = keystead.settings.model_copy(update={"max_body_bytes": 2048})
    app = create_app(keystead, settings=settings)
    async with open_world(keystead) as world, _client(app) as client:
        h = world.auth()
        small = {"name": "n" * 100, "key_defaults": {"meta": {"pad": "x" * 1500}}}
        assert (await client.post("/v1/apis", json=small, headers=h)).status_code == 201
        large = {"name": "m", "key_defaults": {"meta": {"pad": "x" * 2100}}}
        assert (
            "2048"
            in assert_problem(await client.post("/v1/apis", json=large, headers=h), 413)["detail"]
        )


async def test_a_content_length_that_is_not_a_number(world: World) -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/apis", "raw_path": b"/v1/apis", "root_path": "",
        "query_string": b"", "headers": [(b"content-length", b"12x")],
        "client": ("127.0.0.1", 1), "server": ("keystead.test", 80),
    }  # fmt: skip
    await world.app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert (b"content-type", PROBLEM_JSON.encode()) in sent[0]["headers"]


async def test_fast_path_under_a_root_path(world: World) -> None:
    api = await world.api()
    key = await world.key(api["id"])
    async with _client(world.app, root_path="/keystead") as client:
        response = await client.post(
            "/keystead/v1/keys/verify", json={"key": key["key"]}, headers=world.auth()
        )
        assert response.json()["code"] == "VALID"
        assert (await client.get("/keystead/healthz")).status_code == 200


async def test_datetimes_are_utc_with_z(world: World) -> None:
    api = await world.api()
    key = await world.key(api["id"], expires_at="2031-06-01T12:00:00.250+02:00")
    assert key["expires_at"] == "2031-06-01T10:00:00.250000Z"
    for name in ("created_at", "updated_at"):
        assert key[name].endswith("Z") and "+" not in key[name]
    answer = await world.verify(key["key"])
    assert answer["expires_at"] == key["expires_at"]
    naive = await world.key(api["id"], expires_at="2031-06-01T12:00:00")  # no offset: UTC
    assert naive["expires_at"] == "2031-06-01T12:00:00Z"
    listed = await world.client.get("/v1/root_keys", headers=world.auth())
    assert all(r["created_at"].endswith("Z") for r in listed.json()["items"])


async def test_the_verify_answer_never_carries_a_logged_detail(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api = await world.api()
    key = await world.key(api["id"])
    caplog.clear()  # the access log's lines of the two management calls
    for _ in range(3):
        await world.verify(key["key"])
    assert not [r for r in caplog.records if r.name.startswith("keystead")]
