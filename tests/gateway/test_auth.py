"""Keys at the gateway: auth required / optional / none, every refusal as
problem+json, identity headers to the upstream, spoofed ones stripped, and
credentials hidden from the upstream."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from keystead.config import Settings
from keystead.core.clock import ManualClock
from keystead.service import Keystead

from .gatewaykit import assert_problem, config_of, route, site
from .upstreams import Stream, echo, serving

SPOOFED = {
    "x-keystead-key-id": "key_someone_else",
    "X-Keystead-Owner": "admin",
    "x-keystead-anything": "1",
}


def _headers_seen(answer: Any) -> dict[str, str]:
    return dict(answer.json()["headers"])


async def test_required_auth_refuses_every_unusable_key_alike(
    keystead: Keystead, clock: ManualClock
) -> None:
    async with serving(echo) as up, site(keystead, config_of([route(up.url)])) as s:
        revoked, revoked_id = await s.key()
        await keystead.keys.revoke(s.operator, revoked_id)
        disabled, disabled_id = await s.key()
        await keystead.keys.disable(s.operator, disabled_id)
        expired, _ = await s.key(expires_at=datetime.fromtimestamp(clock.now() - 60, UTC))
        early, _ = await s.key(not_before=datetime.fromtimestamp(clock.now() + 3600, UTC))
        unknown = "gw_" + "A" * 40
        answers = [
            await s.client.get("/", headers={"authorization": f"Bearer {key}"})
            for key in (revoked, disabled, expired, early, unknown, "x" * 2000)
        ]
        missing = await s.client.get("/")

    bodies = {answer.content for answer in answers}
    assert len(bodies) == 1  # one vague answer: nothing tells whether a key exists
    for answer in answers:
        body = assert_problem(answer, 401)
        assert "code" not in body
        assert answer.headers["www-authenticate"].startswith('Bearer realm="keystead"')
    assert_problem(missing, 401)
    assert "error=" not in missing.headers["www-authenticate"]
    assert up.seen == []


async def test_permissions_and_restrictions_give_403(keystead: Keystead) -> None:
    async with serving(echo) as up:
        config = config_of([route(up.url, permissions="documents.read OR documents.admin")])
        async with site(keystead, config) as s:
            reader, _ = await s.key(permissions=["documents.read"])
            writer, _ = await s.key(permissions=["documents.write"])
            elsewhere, _ = await s.key(
                permissions=["documents.read"], restrictions={"ips": {"allow": ["10.0.0.0/8"]}}
            )
            allowed = await s.client.get("/doc", headers={"x-api-key": reader})
            lacking = await s.client.get("/doc", headers={"x-api-key": writer})
            forbidden = await s.client.get("/doc", headers={"x-api-key": elsewhere})

    assert allowed.status_code == 200
    assert assert_problem(lacking, 403)["code"] == "INSUFFICIENT_PERMISSIONS"
    assert 'error="insufficient_scope"' in lacking.headers["www-authenticate"]
    assert assert_problem(forbidden, 403)["code"] == "FORBIDDEN"
    assert len(up.seen) == 1


async def test_a_key_over_its_rate_limit_gets_429_with_ratelimit_headers(
    keystead: Keystead,
) -> None:
    async with serving(echo) as up, site(keystead, config_of([route(up.url)])) as s:
        key, _ = await s.key(ratelimits=[{"name": "per-minute", "limit": 1, "duration_s": 60}])
        headers = {"authorization": f"Bearer {key}"}
        first = await s.client.get("/", headers=headers)
        second = await s.client.get("/", headers=headers)

    assert first.status_code == 200
    assert first.headers["ratelimit-policy"] == '"per-minute";q=1;w=60'
    assert first.headers["ratelimit"].startswith('"per-minute";r=0')
    body = assert_problem(second, 429)
    assert body["code"] == "RATE_LIMITED"
    assert int(second.headers["retry-after"]) > 0
    assert second.headers["ratelimit"].startswith('"per-minute";r=0;t=')
    assert len(up.seen) == 1


async def test_a_limiter_that_fails_closed_gives_503(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    unreachable = settings.model_copy(
        update={"limits_url": "redis://127.0.0.1:1", "invalidation_url": "none"}
    )
    ks = await Keystead.open(settings=unreachable, clock=clock)
    try:
        async with serving(echo) as up, site(ks, config_of([route(up.url)])) as s:
            await ks.apis.update(s.operator, s.api_id, {"limits": {"failure_policy": "closed"}})
            key, _ = await s.key(ratelimits=[{"name": "r", "limit": 5, "duration_s": 60}])
            answer = await s.client.get("/", headers={"x-api-key": key})
    finally:
        await ks.close()

    assert "cannot be checked" in assert_problem(answer, 503)["detail"]
    assert up.seen == []


@pytest.mark.parametrize("damage", ["directory", "garbage"])
async def test_a_store_that_cannot_answer_gives_503(
    settings: Settings, clock: ManualClock, tmp_path: Path, damage: str
) -> None:
    database = tmp_path / "lost.db"
    ks = await Keystead.open(
        settings=settings.model_copy(update={"database_url": f"sqlite:///{database}"}),
        clock=clock,
    )
    try:
        async with serving(echo) as up, site(ks, config_of([route(up.url)])) as s:
            never_verified, _ = await s.key()  # not cached: verifying needs the store
            await ks.store.close()
            database.unlink()
            if damage == "directory":  # cannot be opened at all
                database.mkdir()
            else:  # opens, but is no database
                database.write_bytes(b"this is not a database" * 100)
            answer = await s.client.get("/", headers={"x-api-key": never_verified})
    finally:
        await ks.close()

    assert "cannot be checked" in assert_problem(answer, 503)["detail"]
    assert up.seen == []


async def test_optional_auth_forwards_anonymous_requests_but_refuses_bad_keys(
    keystead: Keystead,
) -> None:
    async with serving(echo) as up:
        async with site(keystead, config_of([route(up.url, auth="optional")])) as s:
            key, key_id = await s.key()
            anonymous = await s.client.get("/", headers=SPOOFED)
            known = await s.client.get("/", headers={"x-api-key": key})
            wrong = await s.client.get("/", headers={"x-api-key": key[:-2] + "zz"})

    assert anonymous.status_code == 200
    assert not any(name.startswith("x-keystead-") for name in _headers_seen(anonymous))
    assert _headers_seen(known)["x-keystead-key-id"] == key_id
    assert_problem(wrong, 401)


async def test_no_auth_forwards_without_a_key_and_still_strips_spoofed_headers(
    keystead: Keystead,
) -> None:
    async with serving(echo) as up, site(keystead, config_of([route(up.url, auth="none")])) as s:
        answer = await s.client.get("/", headers={**SPOOFED, "authorization": "Bearer not-checked"})

    seen = _headers_seen(answer)
    assert answer.status_code == 200
    assert not any(name.startswith("x-keystead-") for name in seen)
    assert "authorization" not in seen  # hide_credentials holds on every route


async def test_identity_headers_replace_spoofed_ones(keystead: Keystead) -> None:
    async with serving(echo) as up, site(keystead, config_of([route(up.url)])) as s:
        key, key_id = await s.key(
            owner_id="Zoë\r\nX-Injected: 1", permissions=["documents.read", "billing.*"]
        )
        answer = await s.client.get(
            "/", headers={**SPOOFED, "authorization": f"Bearer {key}", "x-api-key": "other"}
        )

    pairs = answer.json()["headers"]
    keystead_headers = {name: value for name, value in pairs if name.startswith("x-keystead-")}
    assert keystead_headers == {
        "x-keystead-key-id": key_id,
        "x-keystead-api-id": s.api_id,
        "x-keystead-owner": "Zo%C3%AB%0D%0AX-Injected: 1",
        "x-keystead-permissions": "billing.*,documents.read",
    }
    assert "x-injected" not in {name for name, _ in pairs}


async def test_hide_credentials_takes_the_key_out_of_the_forwarded_request(
    keystead: Keystead,
) -> None:
    sources = {"bearer": True, "header": "x-api-key", "cookie": "session_key", "query": "api_key"}
    async with serving(echo) as up:
        hidden = config_of([route(up.url)], key_sources=sources)
        async with site(keystead, hidden) as s:
            key, _ = await s.key()
            by_query = await s.client.get(f"/q?a=1&api_key={key}&b=2")
            by_cookie = await s.client.get(
                "/c", headers={"cookie": f"theme=dark; session_key={key}"}
            )
            by_bearer = await s.client.get("/b", headers={"authorization": f"Bearer {key}"})
    async with serving(echo) as up:
        shown = config_of([route(up.url)], hide_credentials=False)
        async with site(keystead, shown) as s:
            shown_key, _ = await s.key()
            kept = await s.client.get("/", headers={"x-api-key": shown_key})

    assert by_query.json()["target"] == "/q?a=1&b=2"
    assert _headers_seen(by_cookie)["cookie"] == "theme=dark"
    assert "authorization" not in _headers_seen(by_bearer)
    for answer in (by_query, by_cookie, by_bearer):
        assert key not in answer.text
    assert _headers_seen(kept)["x-api-key"] == shown_key


async def test_load_shedding_refuses_low_tiers_with_503(
    settings: Settings, clock: ManualClock
) -> None:
    ks = await Keystead.open(
        settings=settings.model_copy(update={"shed_max_inflight": 2}), clock=clock
    )
    stream = Stream(first=b"busy", rest=[])
    try:
        async with serving(stream) as up, site(ks, config_of([route(up.url)])) as s:
            key, _ = await s.key()
            headers = {"x-api-key": key}
            async with s.client.stream("GET", "/", headers=headers) as busy:
                await anext(busy.aiter_raw())
                shed = await s.client.get("/", headers=headers)
                stream.go.set()
            calm = await s.client.get("/", headers=headers)
    finally:
        await ks.close()

    assert "overloaded" in assert_problem(shed, 503)["detail"]
    assert shed.headers["retry-after"] == "1"
    assert calm.status_code == 200
