"""Every problem Keystead answers is ``about:blank`` with the status phrase as its
``title`` (RFC 9457 section 4.2.1), what went wrong being in ``detail``: the HTTP
API's answers, its middleware's, the integrations' refusals and the gateway's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any, NoReturn

import httpx
import orjson
import pytest
from httpkit import PROBLEM_JSON, World, open_world

from keystead.core.answers import problem_for
from keystead.core.models import Code
from keystead.core.verify import Verdict
from keystead.errors import ConfigurationError, StoreUnavailable
from keystead.gateway import problems as gateway_problems
from keystead.integrations import refusal
from keystead.service import Keystead

# RFC 9110's phrases, where Python before 3.13 still has RFC 7231's
RFC_9110 = {413: "Content Too Large", 414: "URI Too Long", 422: "Unprocessable Content"}


def phrase(status: int) -> str:
    return RFC_9110.get(status) or HTTPStatus(status).phrase


def assert_about_blank(body: dict[str, Any], status: int) -> None:
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["title"] == phrase(status), body
    assert isinstance(body["detail"], str) and body["detail"], body


class Problems:
    """Every problem+json answer seen, by status."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, dict[str, Any]]] = []

    async def __call__(self, response: httpx.Response) -> None:
        if response.headers.get("content-type") == PROBLEM_JSON:
            self.seen.append((response.status_code, orjson.loads(await response.aread())))


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
async def world(keystead: Keystead, problems: Problems) -> AsyncIterator[World]:
    async with open_world(keystead, on_response=problems) as w:
        yield w


async def test_every_http_problem_has_the_status_phrase_as_title(
    world: World, problems: Problems, monkeypatch: pytest.MonkeyPatch
) -> None:
    c, h = world.client, world.auth()
    api_id = (await world.api())["id"]
    key = await world.key(api_id)
    narrow = world.auth(await world.root_key_with(["keys.read"]))
    await c.get("/v1/apis")  # 401
    await c.get("/v1/apis", headers=narrow)  # 403
    await c.get("/v1/nowhere", headers=h)  # 404: no route
    await c.get("/v1/keys/key_0000000000AAAAAAAAAAAAAAAA", headers=h)  # 404: no object
    await c.put("/v1/apis", headers=h)  # 405
    await c.post("/v1/apis", json={"name": "docs"}, headers=h)  # 409
    await c.post(f"/v1/keys/{key['id']}/revoke", headers=h)
    await c.post(f"/v1/keys/{key['id']}/enable", headers=h)  # 409
    await c.post("/v1/apis", content=b"{", headers=h)  # 400: not JSON
    big = b'{"name": "' + b"x" * world.ks.settings.max_body_bytes + b'"}'
    await c.post("/v1/apis", content=big, headers=h)  # 413
    await c.post("/v1/apis", content=b"name=x", headers={**h, "Content-Type": "text/plain"})
    await c.post("/v1/apis", json={"name": 1}, headers=h)  # 422: validation
    await c.post("/v1/apis", json={"name": "p", "prefix": "ksroot"}, headers=h)  # 422: service
    await c.get("/v1/keys/not-an-id", headers=h)  # 422: path
    await c.post("/v1/keys/verify", json={"key": "k", "permissions": "("}, headers=h)  # 400
    await c.post("/v1/keys/verify", json={"key": 1}, headers=h)  # 422 on the fast path
    await c.post("/v1/keys/verify", content=b"[", headers=h)  # 400 on the fast path
    await c.get("/v1/analytics/usage", params={"key_id": key["key"]}, headers=h)  # 422

    def unavailable(*_args: object, **_kwargs: object) -> NoReturn:
        raise StoreUnavailable("the database is down")

    def misconfigured(*_args: object, **_kwargs: object) -> NoReturn:
        raise ConfigurationError("no secret")

    def broken(*_args: object, **_kwargs: object) -> NoReturn:
        raise RuntimeError("a bug")

    for failure in (unavailable, misconfigured, broken):  # 503, then 500 twice
        monkeypatch.setattr(world.ks.apis, "list", failure)
        await c.get("/v1/apis", headers=h)

    statuses = {status for status, _ in problems.seen}
    assert statuses >= {400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 503}
    for status, body in problems.seen:
        assert_about_blank(body, status)


def test_refusals_and_gateway_problems_have_the_status_phrase_as_title() -> None:
    answers = [
        refusal.missing_key(),
        refusal.unavailable(),
        refusal.insufficient_permissions("documents.read"),
        gateway_problems.NO_ROUTE,
        gateway_problems.BAD_PATH,
        gateway_problems.SLOW_BODY,
        gateway_problems.too_large(10),
        gateway_problems.problem(502, "the upstream did not answer"),
        gateway_problems.problem(504, "the upstream was too slow"),
    ]
    for status, _headers, body in answers:
        assert_about_blank(orjson.loads(body), status)
    for code, reason, shed in [
        (Code.NOT_FOUND, None, False),
        (Code.FORBIDDEN, "ip", False),
        (Code.RATE_LIMITED, "rps", False),
        (Code.USAGE_EXCEEDED, "quota", False),
        (Code.RATE_LIMITED, "overloaded", True),
    ]:
        verdict = Verdict(code, reason=reason, shed=shed)
        problem = problem_for(verdict)
        assert_about_blank(problem, problem["status"])
