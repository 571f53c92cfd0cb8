"""Bad input is a 4xx problem+json with a useful detail: never a 500, never a traceback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpkit import World, assert_problem, open_world
from hypothesis import given, settings
from hypothesis import strategies as st

from keystead.service import Keystead


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


@pytest.fixture
async def api_id(world: World) -> str:
    api_id: str = (await world.api())["id"]
    return api_id


async def test_bad_json_is_a_400(world: World, api_id: str) -> None:
    key = await world.key(api_id)
    h = {**world.auth(), "Content-Type": "application/json"}
    for method, url in [
        ("POST", "/v1/apis"),
        ("POST", "/v1/keys"),
        ("POST", "/v1/keys/batch"),
        ("PATCH", f"/v1/keys/{key['id']}"),
        ("PUT", f"/v1/apis/{api_id}/roles/r"),
        ("POST", "/v1/root_keys"),
        ("POST", "/v1/keys/verify"),
        ("POST", "/v1/tokens/revocations"),
        ("POST", f"/v1/apis/{api_id}/signing-keys/rotate"),
        ("PUT", f"/v1/apis/{api_id}/token-policy"),
    ]:
        for raw in (b"{", b"{'a': 1}", b'{"a": NaN}', b'{"a": 1e999}', b'"\\ud800"', b"\xff"):
            response = await world.client.request(method, url, content=raw, headers=h)
            problem = assert_problem(response, 400)
            assert problem["title"] == "Bad Request", (url, raw)
            assert problem["detail"] == "the request body is not valid JSON"


async def test_non_json_bodies_are_a_415(world: World) -> None:
    h = {**world.auth(), "Content-Type": "application/x-www-form-urlencoded"}
    for url in ("/v1/apis", "/v1/keys/verify"):
        response = await world.client.post(url, content=b"name=x", headers=h)
        assert "application/json" in assert_problem(response, 415)["detail"]
    # no Content-Type at all is read as JSON
    response = await world.client.post("/v1/apis", content=b'{"name": "x"}', headers=world.auth())
    assert response.status_code == 201


async def test_wrong_types_and_unknown_fields_name_the_location(world: World, api_id: str) -> None:
    cases: list[tuple[str, Any, list[str | int]]] = [
        ("/v1/apis", {"name": 1}, ["body", "name"]),
        ("/v1/apis", {"name": "x", "colour": "red"}, ["body", "colour"]),
        ("/v1/apis", [], ["body"]),
        ("/v1/keys", {"api_id": api_id, "permissions": "a.b"}, ["body", "permissions"]),
        ("/v1/keys", {"api_id": api_id, "enabled": "yes"}, ["body", "enabled"]),
        ("/v1/keys", {"api_id": api_id, "meta": [1]}, ["body", "meta"]),
        ("/v1/keys", {"api_id": api_id, "key": "ks_mine"}, ["body", "key"]),
        ("/v1/keys", {"name": "no api"}, ["body", "api_id"]),
        ("/v1/keys/batch", {"keys": [{"api_id": api_id, "x": 1}]}, ["body", "keys", 0, "x"]),
        ("/v1/keys/verify", {"key": 1}, ["body", "key"]),
        ("/v1/keys/verify", {"key": "k", "ip": ["1.2.3.4"]}, ["body", "ip"]),
        ("/v1/keys/verify", {"key": "k", "extra": True}, ["body", "extra"]),
        ("/v1/keys/verify", {}, ["body", "key"]),
        ("/v1/root_keys", {"permissions": "*"}, ["body", "permissions"]),
    ]
    for url, body, loc in cases:
        response = await world.client.post(url, json=body, headers=world.auth())
        problem = assert_problem(response, 422)
        assert problem["errors"][0]["loc"] == loc, (url, body, problem)
        assert ".".join(str(p) for p in loc) in problem["detail"]
        assert all(set(e) == {"loc", "msg", "type"} for e in problem["errors"])


async def test_absurd_values(world: World, api_id: str) -> None:
    c, h = world.client, world.auth()
    queries: list[dict[str, Any]] = [
        {"limit": 0}, {"limit": 1001}, {"limit": -1}, {"limit": "ten"}, {"limit": 10**30},
        {"cursor": "nope"}, {"state": "x"}, {"owner_id": "a\x00b"}, {"owner_id": "o" * 201},
        {"api_id": "api_x"},
    ]  # fmt: skip
    for params in queries:
        assert_problem(await c.get("/v1/keys", params=params, headers=h), 422)
    absurd: list[dict[str, Any]] = [
        {"expires_at": "0001-01-01T00:00:00Z"},
        {"expires_at": "9999-12-31T23:59:59-05:00"},
        {"expires_at": "10000-01-01T00:00:00Z"},
        {"not_before": "1969-12-31T23:59:59Z"},
        {"expires_at": "2030-13-01T00:00:00Z"},
        {"expires_at": 1e20},
        {"expires_at": True},
        {"name": "n" * 201},
        {"name": ""},
        {"name": "a\x00b"},
        {"owner_id": "\x00"},
        {"meta": {"k": "a\x00b"}},
        {"meta": {"a\x00": 1}},
        {"meta": {"big": "x" * 20_000}},
        {"meta": json.loads('{"a":' * 40 + "1" + "}" * 40)},
        {"permissions": ["p" * 129]},
        {"permissions": ["a.b"] * 1001},
        {"permissions": ["a b"]},
        {"roles": ["r"] * 1001},
        {"environment": "LIVE"},
        {"environment": "e" * 17},
        {"enabled": None, "restrictions": {"ips": {"allow": ["10.0.0.1/8"]}}},
        {"restrictions": {"nope": []}},
        {"restrictions": {"ips": "10.0.0.0/8"}},
        {"restrictions": {"methods": ["G E T"]}},
        {"restrictions": {"schedule": {"timezone": "Mars/Olympus"}}},
        {"restrictions": {"countries": {"allow": ["ZZZ"]}}},
        {"restrictions": {"paths": ["no-slash"]}},
    ]
    for fields in absurd:
        response = await c.post("/v1/keys", json={"api_id": api_id, **fields}, headers=h)
        assert_problem(response, 422)
    response = await c.post(
        "/v1/keys",
        json={"api_id": api_id, "restrictions": {"ips": {"allow": ["10.0.0.1/8"]}}},
        headers=h,
    )
    assert assert_problem(response, 422)["field"].startswith("restrictions")


_RATE = {"name": "rps", "limit": 10, "duration_s": 60}
ABSURD_LIMITS: list[dict[str, Any]] = [
    {"ratelimits": [{**_RATE, "limit": 10**30}]},
    {"ratelimits": [{**_RATE, "limit": 10**13}]},
    {"ratelimits": [{**_RATE, "limit": -1}]},
    {"ratelimits": [{**_RATE, "duration_s": 1e300}]},
    {"ratelimits": [{**_RATE, "duration_s": 0}]},
    {"ratelimits": [{**_RATE, "limit": 10**6, "algorithm": "sliding_window"}]},
    {"ratelimits": [{**_RATE, "algorithm": "leaky"}]},
    {"ratelimits": [{**_RATE, "name": ""}]},
    {"ratelimits": [{**_RATE, "name": "a\x00b"}]},
    {"ratelimits": [{**_RATE, "burst": 0}]},
    {"ratelimits": [{**_RATE, "limit": True}]},
    {"ratelimits": [{**_RATE, "limit": 1.5}]},
    {"ratelimits": [{**_RATE, "colour": "red"}]},
    {"ratelimits": [{"name": f"r{i}", "limit": 1, "duration_s": 1} for i in range(21)]},
    {"ratelimits": {"name": "rps"}},
    {"ratelimits": ["rps"]},
    {"quota": {"limit": 10, "period": "year"}},
    {"quota": {"limit": 10, "period": "DAY"}},
    {"quota": {"limit": -1}},
    {"quota": {"limit": 10**40}},
    {"quota": {"limit": 10, "timezone": "Mars/Olympus"}},
    {"quota": {"limit": 10, "timezone": "../../etc/passwd"}},
    {"quota": {"limit": 10, "timezone": "a\x00"}},
    {"quota": {"limit": 10, "offset_s": -5}},
    {"quota": {"limit": 10, "period": "month", "offset_s": 10**12}},
    {"quota": {"limit": 10, "extra": 1}},
    {"quota": 10},
    {"credits": {"remaining": -5}},
    {"credits": {"remaining": 10**30}},
    {"credits": {"remaining": 5, "refill": {"amount": 0, "interval_s": 1}}},
    {"credits": {"remaining": 5, "refill": {"amount": 1, "interval_s": -1}}},
    {"credits": {"remaining": 5, "refill": {"amount": 1, "interval_s": 1, "mode": "mul"}}},
    {"credits": {"remaining": 5, "refill": {"amount": 1, "interval_s": 1, "cap": 3}}},
    {"credits": {"remaining": 5, "refill": 3}},
    {"concurrency": {"limit": 0}},
    {"concurrency": {"limit": 10**7}},
    {"concurrency": {"limit": 1, "lease_s": 0}},
    {"concurrency": {"limit": 1, "lease_s": 10**9}},
    {"concurrency": {"limit": 1, "leases": 1}},
]


async def test_absurd_limits_are_refused_everywhere(world: World, api_id: str) -> None:
    c, h = world.client, world.auth()
    key = await world.key(api_id)
    plan = (await c.post("/v1/plans", json={"name": "base"}, headers=h)).json()
    for fields in ABSURD_LIMITS:
        requests: list[tuple[str, str, dict[str, Any]]] = [
            ("POST", "/v1/keys", {"api_id": api_id, **fields}),
            ("POST", "/v1/keys/batch", {"keys": [{"api_id": api_id, **fields}]}),
            ("PATCH", f"/v1/keys/{key['id']}", fields),
            ("POST", "/v1/plans", {"name": "p", **fields}),
            ("PATCH", f"/v1/plans/{plan['id']}", fields),
            ("PUT", "/v1/owners/someone", fields),
        ]
        if "ratelimits" in fields:
            requests.append(("POST", "/v1/keys/verify", {"key": key["key"], **fields}))
            ip_limits = {"limits": {"ip_ratelimits": fields["ratelimits"]}}
            requests.append(("PATCH", f"/v1/apis/{api_id}", ip_limits))
            requests.append(("POST", "/v1/apis", {"name": "x", **ip_limits}))
        for method, url, body in requests:
            response = await c.request(method, url, json=body, headers=h)
            assert_problem(response, 422)
    bad_verify: list[dict[str, Any]] = [
        {"cost": -1}, {"cost": 10**9 + 1}, {"cost": 10**30}, {"cost": 1e3}, {"cost": "1"},
        {"cost": [1]}, {"ratelimits": "rps"}, {"ratelimits": {}}, {"limits": []},
    ]  # fmt: skip
    for fields in bad_verify:
        response = await c.post("/v1/keys/verify", json={"key": key["key"], **fields}, headers=h)
        assert_problem(response, 422)
    for fields in ({"reset_quota": "yes"}, {"reset_quota": 1}, {"plan_id": "plan_nope"},
                   {"priority": 5}):  # fmt: skip
        assert_problem(await c.patch(f"/v1/keys/{key['id']}", json=fields, headers=h), 422)
    for body in ({"name": "p", "priority": 10**30}, {"name": "p", "priority": True},
                 {"name": "p", "priority": None}, {"name": "p", "plan_id": "plan_x"}):  # fmt: skip
        assert_problem(await c.post("/v1/plans", json=body, headers=h), 422)
    for body in ({"limits": []}, {"limits": {"failure_policy": None}}, {"limits": {"x": 1}}):
        assert_problem(await c.patch(f"/v1/apis/{api_id}", json=body, headers=h), 422)
    for params in ({"ip": "x" * 200}, {}, {"ip": ""}):
        response = await c.get("/v1/limits/failed_attempts", params=params, headers=h)
        assert_problem(response, 422)


async def test_invalid_ids(world: World, api_id: str) -> None:
    c, h = world.client, world.auth()
    for path in ("/v1/keys/abc", "/v1/keys/" + "A" * 5000, "/v1/keys/%00", "/v1/keys/key_é",
                 "/v1/apis/api_01JZ8Q3V6N2X7R4M5T9K0W1B2", "/v1/root_keys/x/revoke"):  # fmt: skip
        method = "POST" if path.endswith("revoke") else "GET"
        problem = assert_problem(await c.request(method, path, headers=h), 422)
        assert "is not a Keystead id" in problem["detail"]
    for name in ("a%00b", "r" * 101, "sp ace", "ünï"):
        response = await c.put(
            f"/v1/apis/{api_id}/roles/{name}", json={"permissions": []}, headers=h
        )
        assert_problem(response, 422)
    # a plaintext key pasted where an id belongs is refused without being echoed
    key = (await world.key(api_id))["key"]
    response = await c.get(f"/v1/keys/{key}", headers=h)
    assert_problem(response, 422)
    assert key not in response.text


async def test_oversized_bodies_are_a_413(world: World) -> None:
    limit = world.ks.settings.max_body_bytes
    big = b'{"name": "' + b"x" * limit + b'"}'
    for url in ("/v1/apis", "/v1/keys/verify"):
        response = await world.client.post(url, content=big, headers=world.auth())
        assert str(limit) in assert_problem(response, 413)["detail"]

    async def stream() -> AsyncIterator[bytes]:  # chunked: no Content-Length to check
        yield b'{"name": "'
        for _ in range(limit // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    for url in ("/v1/apis", "/v1/keys/verify"):
        response = await world.client.post(url, content=stream(), headers=world.auth())
        assert "content-length" not in response.request.headers
        assert_problem(response, 413)


async def test_unknown_routes_and_methods(world: World) -> None:
    c, h = world.client, world.auth()
    assert "no such route" in assert_problem(await c.get("/v2/keys", headers=h), 404)["detail"]
    assert_problem(await c.get("/v2/keys"), 404)
    response = await c.put("/v1/keys", headers=h)
    assert "GET or POST" in assert_problem(response, 405)["detail"]
    assert response.headers["allow"] == "GET, POST"
    assert_problem(await c.get("/v1/keys/verify/x", headers=h), 404)
    # the verify fast path only takes POST; other methods get the router's answers
    response = await c.put("/v1/keys/verify", headers=h)
    assert assert_problem(response, 405)["detail"].startswith("PUT is not allowed")


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=12,
    )


_KEY_FIELDS = ["api_id", "name", "owner_id", "meta", "permissions", "roles", "environment",
               "not_before", "expires_at", "restrictions", "enabled", "key", "ip", "method",
               "path", "referrer", "user_agent", "ratelimits", "quota", "credits",
               "concurrency", "plan_id", "cost", "priority", "reset_quota"]  # fmt: skip
_SPEC_FIELDS = ["name", "limit", "duration_s", "burst", "algorithm", "period", "timezone",
                "offset_s", "remaining", "refill", "amount", "interval_s", "mode", "cap",
                "lease_s"]  # fmt: skip
_PLAUSIBLE = st.sampled_from(
    ["$API", "$KEY", "2030-01-01T00:00:00Z", "ks", "a.b", "a.* AND NOT (b", "GET", "/x",
     "gcra", "sliding_window", "day", "month", "Europe/Paris", "add", "set"]
)  # fmt: skip


def _specs() -> st.SearchStrategy[Any]:
    """Limit specs: the right field names, any values (huge, negative, wrong types)."""
    values = (
        _PLAUSIBLE
        | st.integers(-(2**63), 2**63 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.none()
        | st.booleans()
    )
    spec = st.dictionaries(st.sampled_from(_SPEC_FIELDS), values, max_size=6)
    nested = st.dictionaries(st.sampled_from(_SPEC_FIELDS), values | spec, max_size=6)
    return nested | st.lists(spec, max_size=3)


def _bodies() -> list[bytes]:
    """Examples drawn up front (the HTTP calls are async; Hypothesis drives sync code)."""
    out: list[bytes] = []
    objects = st.dictionaries(
        st.sampled_from(_KEY_FIELDS) | st.text(max_size=5), _json_values() | _PLAUSIBLE | _specs()
    )

    @settings(max_examples=120, database=None, deadline=None)
    @given(st.one_of(objects, _json_values(), st.binary(max_size=64)))
    def draw(value: Any) -> None:
        out.append(value if isinstance(value, bytes) else json.dumps(value).encode())

    draw()
    return out


async def test_generated_bodies_never_give_a_500(world: World, api_id: str) -> None:
    key = (await world.key(api_id))["key"]
    headers = {**world.auth(), "Content-Type": "application/json"}
    for raw in _bodies():
        body = raw.replace(b"$API", api_id.encode()).replace(b"$KEY", key.encode())
        for method, url in (("POST", "/v1/keys"), ("POST", "/v1/keys/verify"),
                            ("POST", "/v1/plans"), ("PUT", "/v1/owners/fuzz")):  # fmt: skip
            response = await world.client.request(method, url, content=body, headers=headers)
            assert response.status_code < 500, (url, body, response.text)
            if response.status_code >= 400:
                assert_problem(response, response.status_code)


async def test_hostile_secret_addresses(world: World) -> None:
    """Refused before any permission is matched or anything looked up: never a 500,
    and never resolved to another secret (``..`` sent encoded, as httpx would remove
    it; a second layer of encoding is refused outright)."""
    c, h = world.client, world.auth()
    paths = ("a/%2e%2e/b", "%2E%2E", "a/%252e%252e/b", "a//b", "a/%00/b", "a%0Db", "a%1Bb",
             "a%20b", "a%E2%80%8Bb", "a%C2%A0b", "x" * 515, "/".join("a" * 33),
             "a/*/b")  # fmt: skip
    for path in paths:
        for method, op in (("GET", "data"), ("DELETE", "metadata"), ("GET", "subkeys")):
            response = await c.request(method, f"/v1/secrets/secret/{op}/{path}", headers=h)
            problem = assert_problem(response, 422)
            assert "path" in problem.get("field", "") + problem["detail"], (path, op)
        response = await c.get(f"/v1/secrets/secret/list/{path}", headers=h)
        assert_problem(response, 422)
    for mount in ("sys", "UPPER", "a%2Fb", "x" * 65, "%00", "-a"):
        response = await c.get(f"/v1/secrets/{mount}/data/a", headers=h)
        assert response.status_code in (404, 422), (mount, response.text)
        assert_problem(response, response.status_code)
    huge = b'{"data": {"k": "' + b"x" * world.ks.settings.max_body_bytes + b'"}}'
    response = await c.put("/v1/secrets/secret/data/a", content=huge, headers=h)
    assert_problem(response, 413)
