"""``KeysteadMiddleware`` in embedded mode, over real HTTP (uvicorn on loopback):
key extraction and stripping, every refusal, rate-limit headers, usage
completion, leases, per-route rules and bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.middleware import Middleware

from keystead.core.authz import Principal
from keystead.integrations.credentials import KeySources
from keystead.integrations.embedded import Embedded
from keystead.integrations.rules import Rule, public
from keystead.integrations.starlette import KeysteadMiddleware
from keystead.service import Keystead

from .apps import Gate, starlette_app
from .kit import assert_refused, issue, same_answer, serve_asgi, usage_of

RATE = [{"name": "requests", "limit": 3, "duration_s": 60}]


@asynccontextmanager
async def protected(
    ks: Keystead, gate: Gate | None = None, **options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    middleware = [Middleware(KeysteadMiddleware, guard=Embedded(ks), **options)]
    async with serve_asgi(starlette_app(middleware, gate)) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_valid_key_reaches_the_app_without_its_credential(
    keystead: Keystead, admin: Principal
) -> None:
    issued = await issue(
        keystead, admin, owner_id="acme", permissions=["documents.read"], meta={"tier": "gold"}
    )
    async with protected(keystead) as client:
        response = await client.get("/echo?page=2", headers=bearer(issued.plaintext))
    assert response.status_code == 200, response.text
    seen = response.json()
    assert "authorization" not in seen["headers"]
    assert issued.plaintext not in response.text
    assert seen["query"] == "page=2"
    assert seen["identity"] == {
        "key_id": issued.key_id,
        "owner_id": "acme",
        "api_id": issued.api_id,
        "name": None,
        "permissions": ["documents.read"],
        "meta": {"tier": "gold"},
        "plan": None,
    }


async def test_the_key_is_read_from_bearer_then_x_api_key(
    keystead: Keystead, admin: Principal
) -> None:
    issued = await issue(keystead, admin)
    async with protected(keystead) as client:
        by_header = await client.get("/echo", headers={"X-API-Key": issued.plaintext})
        both = await client.get(
            "/echo", headers={**bearer(issued.plaintext), "X-API-Key": "docs_wrong"}
        )
        bearer_wrong = await client.get(
            "/echo", headers={**bearer("docs_wrong"), "X-API-Key": issued.plaintext}
        )
        basic = await client.get(
            "/echo", headers={"Authorization": "Basic dTpw", "X-API-Key": issued.plaintext}
        )
    assert by_header.status_code == 200
    assert "x-api-key" not in by_header.json()["headers"]
    assert both.status_code == 200
    assert not {"authorization", "x-api-key"} & set(both.json()["headers"])
    assert_refused(bearer_wrong, 401)  # Bearer comes first
    assert basic.status_code == 200  # not a Bearer token: X-API-Key is used ...
    assert basic.json()["headers"]["authorization"] == "Basic dTpw"  # ... and Basic kept


async def test_cookie_and_query_sources_are_opt_in_and_stripped(
    keystead: Keystead, admin: Principal
) -> None:
    issued = await issue(keystead, admin)
    async with protected(keystead) as client:
        refused = await client.get(f"/echo?api_key={issued.plaintext}")
        assert_refused(refused, 401)
    sources = KeySources(cookie="session_key", query="api_key")
    async with protected(keystead, sources=sources) as client:
        by_query = await client.get(f"/echo?a=1&api_key={issued.plaintext}&b=%20x")
        by_cookie = await client.get(
            "/echo", headers={"Cookie": f"theme=dark; session_key={issued.plaintext}; x=1"}
        )
    assert by_query.status_code == 200, by_query.text
    assert by_query.json()["query"] == "a=1&b=%20x"
    assert by_cookie.status_code == 200, by_cookie.text
    assert by_cookie.json()["cookies"] == {"theme": "dark", "x": "1"}
    assert issued.plaintext not in by_query.text + by_cookie.text


async def test_unusable_keys_get_one_answer(keystead: Keystead, admin: Principal) -> None:
    revoked = await issue(keystead, admin)
    await keystead.keys.revoke(admin, revoked.key_id)
    expired = await issue(keystead, admin, expires_at="2020-01-01T00:00:00Z")
    disabled = await issue(keystead, admin, enabled=False)
    unknown = (await issue(keystead, admin)).plaintext[:-8] + "AAAAAAAA"
    async with protected(keystead) as client:
        answers = [
            await client.get("/echo", headers=bearer(key))
            for key in (revoked.plaintext, expired.plaintext, disabled.plaintext, unknown)
        ]
        malformed = await client.get("/echo", headers=bearer("not-a-key"))
        missing = await client.get("/echo")
    for answer in answers:
        body = assert_refused(answer, 401)
        assert "code" not in body  # never says why: no oracle
        same_answer(answers[0], answer)
    same_answer(answers[0], malformed)
    assert_refused(missing, 401)
    assert missing.content == answers[0].content
    assert missing.headers["www-authenticate"] == 'Bearer realm="keystead"'
    assert answers[0].headers["www-authenticate"] == (
        'Bearer realm="keystead", error="invalid_token"'
    )


async def test_rules_ask_for_permissions_and_leave_public_routes_open(
    keystead: Keystead, admin: Principal
) -> None:
    reader = await issue(keystead, admin, permissions=["documents.read"])
    other = await issue(keystead, admin, permissions=["billing.read"])
    rules: Sequence[Rule] = [public("/open"), Rule("/echo", "documents.read", methods=["POST"])]
    async with protected(keystead, rules=rules) as client:
        open_anonymous = await client.get("/open/echo")
        open_documents = await client.get("/open/documents", headers=bearer(reader.plaintext))
        open_forbidden = await client.get("/open/documents", headers=bearer(other.plaintext))
        open_missing = await client.get("/open/documents")
        post_other = await client.post("/echo", headers=bearer(other.plaintext))
        get_other = await client.get("/echo", headers=bearer(other.plaintext))
        documents_other = await client.get("/documents", headers=bearer(other.plaintext))
    assert open_anonymous.status_code == 200
    assert open_anonymous.json()["identity"] is None
    assert open_documents.status_code == 200
    assert open_documents.json()["identity"]["key_id"] == reader.key_id
    assert "authorization" not in open_documents.json()["headers"]
    body = assert_refused(open_forbidden, 403)
    assert body["code"] == "INSUFFICIENT_PERMISSIONS"
    assert_refused(open_missing, 401)
    assert_refused(post_other, 403)
    assert get_other.status_code == 200
    assert_refused(documents_other, 403)  # the route asks more than the middleware did


async def test_rate_limit_headers_then_429(keystead: Keystead, admin: Principal) -> None:
    issued = await issue(keystead, admin, ratelimits=RATE)
    async with protected(keystead) as client:
        served = [await client.get("/echo", headers=bearer(issued.plaintext)) for _ in range(3)]
        limited = await client.get("/echo", headers=bearer(issued.plaintext))
    assert [r.status_code for r in served] == [200, 200, 200]
    assert served[0].headers["ratelimit-policy"] == '"requests";q=3;w=60'
    assert served[0].headers["ratelimit"].startswith('"requests";r=2;t=')
    assert served[2].headers["ratelimit"].startswith('"requests";r=0;t=')
    body = assert_refused(limited, 429)
    assert body["code"] == "RATE_LIMITED"
    assert int(limited.headers["retry-after"]) > 0
    assert limited.headers["ratelimit"].startswith('"requests";r=0;t=')


async def test_usage_is_completed_with_the_response(keystead: Keystead, admin: Principal) -> None:
    issued = await issue(keystead, admin, permissions=["documents.read"])
    async with protected(keystead) as client:
        served = await client.post(
            "/echo?x=1", headers=bearer(issued.plaintext), content=b"0123456789"
        )
        refused = await client.get("/documents", headers=bearer(issued.plaintext + "x"))
        broken = await client.get("/broken", headers=bearer(issued.plaintext))
    assert served.status_code == 200 and broken.status_code == 500
    assert_refused(refused, 401)
    records = await usage_of(keystead, admin, issued.key_id)
    assert len(records) == 2
    first, failed = records
    assert (first.code, first.status, first.method, first.path) == ("VALID", 200, "POST", "/echo")
    assert first.bytes_in == 10
    assert first.bytes_out == len(served.content)
    assert first.response_ms is not None and 0 < first.response_ms < 10_000
    assert first.ip == "127.0.0.1" and first.user_agent is not None
    assert failed.status == 500


async def test_leases_are_held_for_the_response_then_released(
    keystead: Keystead, admin: Principal
) -> None:
    issued = await issue(keystead, admin, concurrency={"limit": 1, "lease_s": 60})
    gate = Gate()
    async with protected(keystead, gate) as client:
        first = asyncio.create_task(client.get("/slow", headers=bearer(issued.plaintext)))
        await asyncio.wait_for(gate.entered.wait(), 10)
        second = await client.get("/slow", headers=bearer(issued.plaintext))
        gate.release.set()
        assert (await first).status_code == 200
        third = await client.get("/slow", headers=bearer(issued.plaintext))
    body = assert_refused(second, 429)
    assert body["code"] == "RATE_LIMITED"
    assert third.status_code == 200


async def test_bad_credentials_are_refused_never_crash(
    keystead: Keystead, admin: Principal
) -> None:
    async with protected(keystead) as client:
        garbled = [
            await client.get("/echo", headers={"Authorization": value})
            for value in ("Bearer", "Bearer  x  y", "bearer", "Token abc", "Bearer a b c")
        ]
        huge = await client.get("/echo", headers=bearer("docs_" + "A" * 20_000))
        raw = httpx.Headers([(b"x-api-key", b"docs_\xff\xfebad")])
        non_utf8 = await client.get("/echo", headers=raw)
        latin = await client.get("/echo", headers=[(b"authorization", b"Bearer \xe9t\xe9")])
    for answer in [*garbled, huge, non_utf8, latin]:
        assert_refused(answer, 401)


async def test_websockets_need_a_key_too(keystead: Keystead, admin: Principal) -> None:
    import websockets.asyncio.client as ws_client
    from websockets.exceptions import InvalidStatus

    issued = await issue(keystead, admin)
    async with protected(keystead) as client:
        url = str(client.base_url).replace("http://", "ws://") + "/ws"
        async with ws_client.connect(url, additional_headers=bearer(issued.plaintext)) as ws:
            message = await ws.recv()
        try:
            async with ws_client.connect(url):
                raise AssertionError("a connection without a key was accepted")
        except InvalidStatus as refused:
            assert refused.response.status_code == 403
    assert issued.key_id in str(message)
    assert issued.plaintext not in str(message)
