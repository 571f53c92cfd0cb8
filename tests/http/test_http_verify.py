"""``POST /v1/keys/verify`` over HTTP: every outcome, and the shape of each answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pydantic
import pytest
from fastapi.exceptions import RequestValidationError
from httpkit import BASE_URL, World, assert_problem, iso, open_world
from hypothesis import given, settings
from hypothesis import strategies as st

from keystead.core import keyformat
from keystead.core.clock import ManualClock
from keystead.errors import ValidationError
from keystead.http import create_app
from keystead.http.app import KeysteadAPI
from keystead.http.schemas import MAX_COST, VERIFY_LIMITS, VerifyRequest
from keystead.http.verify import _parse, extra_limits
from keystead.service import Keystead

KEY_FIELDS = {"key_id", "api_id", "owner_id", "name", "permissions", "meta", "expires_at"}


@pytest.fixture
async def world(keystead: Keystead) -> AsyncIterator[World]:
    async with open_world(keystead) as w:
        yield w


async def test_valid_answer_carries_the_key_fields(world: World) -> None:
    api = await world.api()
    await world.client.put(
        f"/v1/apis/{api['id']}/roles/reader",
        json={"permissions": ["doc.read"]},
        headers=world.auth(),
    )
    key = await world.key(
        api["id"],
        name="n",
        owner_id="o",
        meta={"plan": "pro"},
        permissions=["doc.write"],
        roles=["reader"],
        expires_at="2031-02-03T04:05:06Z",
    )
    answer = await world.verify(key["key"])
    assert answer == {
        "valid": True,
        "code": "VALID",
        "key_id": key["id"],
        "api_id": api["id"],
        "owner_id": "o",
        "name": "n",
        "permissions": ["doc.read", "doc.write"],  # effective: own grants and the role's
        "meta": {"plan": "pro"},
        "expires_at": "2031-02-03T04:05:06Z",
    }
    answer = await world.verify(key["key"], permissions="doc.read AND doc.write")
    assert answer["code"] == "VALID"


async def test_malformed_and_not_found_carry_no_key_fields(world: World) -> None:
    api = await world.api()
    key = await world.key(api["id"])
    tampered = key["key"][:-1] + ("A" if key["key"][-1] != "A" else "B")
    for garbage in ("", "nope", tampered, key["key"] + " ", "x" * 1024):
        assert await world.verify(garbage) == {"valid": False, "code": "MALFORMED"}
    unknown = keyformat.generate("ks")
    assert await world.verify(unknown) == {"valid": False, "code": "NOT_FOUND"}


async def test_disabled_and_revoked(world: World) -> None:
    api = await world.api()
    key = await world.key(api["id"], enabled=False)
    answer = await world.verify(key["key"])
    assert (answer["valid"], answer["code"], answer["key_id"]) == (False, "DISABLED", key["id"])
    assert "reason" not in answer
    await world.client.post(f"/v1/keys/{key['id']}/revoke", headers=world.auth())
    answer = await world.verify(key["key"])
    assert (answer["valid"], answer["code"]) == (False, "REVOKED")
    assert set(answer) == {"valid", "code"} | KEY_FIELDS


async def test_time_window_follows_the_manual_clock(world: World, clock: ManualClock) -> None:
    api = await world.api()
    key = await world.key(
        api["id"], not_before=iso(clock.now() + 60), expires_at=iso(clock.now() + 120)
    )
    assert (await world.verify(key["key"]))["code"] == "NOT_YET_VALID"
    clock.advance(60)
    assert (await world.verify(key["key"]))["code"] == "VALID"
    clock.advance(60)
    answer = await world.verify(key["key"])
    assert (answer["valid"], answer["code"]) == (False, "EXPIRED")
    assert answer["expires_at"] == iso(clock.now())


async def test_forbidden_names_the_restriction(world: World) -> None:
    api = await world.api()
    key = await world.key(
        api["id"],
        restrictions={"ips": {"allow": ["10.0.0.0/8"]}, "methods": ["GET"], "paths": ["/v1/*"]},
    )
    ok = {"ip": "10.1.2.3", "method": "get", "path": "/v1/docs"}
    assert (await world.verify(key["key"], **ok))["code"] == "VALID"
    changes: list[tuple[dict[str, str | None], str]] = [
        ({"ip": "192.168.0.1"}, "ip"),
        ({"ip": None}, "ip"),
        ({"method": "POST"}, "method"),
        ({"path": "/v2/docs"}, "path"),
    ]
    for change, reason in changes:
        answer = await world.verify(key["key"], **{**ok, **change})
        assert (answer["valid"], answer["code"]) == (False, "FORBIDDEN")
        assert answer["reason"] == reason


async def test_insufficient_permissions_names_the_query(world: World) -> None:
    api = await world.api()
    key = await world.key(api["id"], permissions=["doc.read", "billing.*"])
    answer = await world.verify(key["key"], permissions="doc.read AND billing.refund")
    assert answer["code"] == "VALID"
    query = "doc.read AND NOT billing.refund"
    answer = await world.verify(key["key"], permissions=query)
    assert (answer["valid"], answer["code"], answer["reason"]) == (
        False, "INSUFFICIENT_PERMISSIONS", query,
    )  # fmt: skip
    assert answer["permissions"] == ["billing.*", "doc.read"]


async def test_a_bad_query_is_a_400_naming_the_position(world: World) -> None:
    api = await world.api()
    key = await world.key(api["id"])
    for query, position in [("doc.read AND (", 14), ("doc.read OR OR x", 12), ("a b", 2)]:
        response = await world.client.post(
            "/v1/keys/verify", json={"key": key["key"], "permissions": query}, headers=world.auth()
        )
        problem = assert_problem(response, 400)
        assert problem["position"] == position, problem
        assert problem["field"] == "permissions"
        assert f"position {position}" in problem["detail"]
    # the query is checked even for a key that is not there
    response = await world.client.post(
        "/v1/keys/verify", json={"key": "nope", "permissions": "("}, headers=world.auth()
    )
    assert assert_problem(response, 400)["position"] == 1


async def test_verify_needs_keys_verify(world: World) -> None:
    api = await world.api()
    key = await world.key(api["id"])
    verifier = await world.root_key_with(["keys.verify"])
    assert (await world.verify(key["key"]))["valid"]
    response = await world.client.post(
        "/v1/keys/verify", json={"key": key["key"]}, headers=world.auth(verifier)
    )
    assert response.json()["valid"] is True
    reader = await world.root_key_without("keys.verify")
    response = await world.client.post(
        "/v1/keys/verify", json={"key": key["key"]}, headers=world.auth(reader)
    )
    assert "keys.verify" in assert_problem(response, 403)["detail"]


async def test_the_routed_path_answers_like_the_fast_path(world: World) -> None:
    """Without its fast path the app serves verify through the router, identically."""
    api = await world.api()
    key = await world.key(api["id"], permissions=["a.b"])
    app = create_app(world.ks)
    assert isinstance(app, KeysteadAPI)
    app.fast_routes = {}
    transport = httpx.ASGITransport(app=app, root_path="/ks")
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as routed:
        for body in ({"key": key["key"]}, {"key": "nope"}, {"key": key["key"], "permissions": "c"}):
            fast = await world.client.post("/v1/keys/verify", json=body, headers=world.auth())
            slow = await routed.post("/ks/v1/keys/verify", json=body, headers=world.auth())
            assert (slow.status_code, slow.json()) == (fast.status_code, fast.json())
        for body in ({"key": key["key"], "permissions": "("}, {"key": 1}, {"nope": 1}):
            fast = await world.client.post("/v1/keys/verify", json=body, headers=world.auth())
            slow = await routed.post("/ks/v1/keys/verify", json=body, headers=world.auth())
            assert (slow.status_code, slow.json()) == (fast.status_code, fast.json())
            assert slow.headers["content-type"] == "application/problem+json"
        slow = await routed.post("/ks/v1/keys/verify", json={"key": key["key"]})
        assert_problem(slow, 401)
        assert slow.headers["www-authenticate"] == "Bearer"


_VERIFY_FIELDS = st.sampled_from([*VERIFY_LIMITS, "cost", "other"])
_VALUES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.sampled_from([0, 1, MAX_COST, MAX_COST + 1, -1])
    | st.text(max_size=5)
    | st.sampled_from(["k" * n for n in (31, 32, 33, 127, 128, 129, 1023, 1024, 1025, 4096, 4097)])
)
_INT = st.integers(-(2**63), 2**63 - 1)
_RATE = st.fixed_dictionaries(
    {"name": st.text(max_size=3), "limit": _INT, "duration_s": _INT | st.floats(0)},
    optional={"burst": _INT | st.none(), "algorithm": st.just("gcra")},
)
_RATELIMITS = st.none() | _INT | st.text(max_size=2) | st.lists(_RATE, max_size=22)


def _normal(fields: dict[str, object]) -> dict[str, object]:
    """What ``answer`` reads: the text fields, ``cost`` (null: 1) and ``ratelimits``."""
    out = {k: fields.get(k) for k in VERIFY_LIMITS}
    out["cost"] = 1 if fields.get("cost") is None else fields["cost"]
    out["ratelimits"] = _durations_as_floats(fields.get("ratelimits")) or None
    return out


def _durations_as_floats(items: object) -> object:
    """``RateLimit`` reads ``duration_s`` with ``float()`` whichever path parsed the
    body, so an int the schema turned into a float is the same value to it."""
    if not isinstance(items, list):
        return items
    out: list[object] = []
    for item in items:
        if isinstance(item, dict) and type(item.get("duration_s")) is int:
            item = {**item, "duration_s": float(item["duration_s"])}
        out.append(item)
    return out


@settings(max_examples=400, database=None, deadline=None)
@given(
    st.one_of(
        st.dictionaries(_VERIFY_FIELDS, _VALUES),
        st.builds(
            lambda d, r: {**d, "key": "k", "ratelimits": r},
            st.dictionaries(_VERIFY_FIELDS, _VALUES),
            _RATELIMITS,
        ),
        _VALUES,
    )
)
def test_the_quick_body_check_agrees_with_the_schema(body: object) -> None:
    """The hot path accepts a body without pydantic when it can; the answer is the same.
    (Rate limit items are read strictly after either path, by ``extra_limits``.)"""
    raw = orjson.dumps(body)
    try:
        model = VerifyRequest.model_validate(body)
        expected: dict[str, object] | None = _normal(model.model_dump(exclude_unset=True))
    except pydantic.ValidationError:
        expected = None
    try:
        got: dict[str, object] | None = _normal(_parse(raw))
    except RequestValidationError as exc:
        assert all(e["loc"][0] == "body" for e in exc.errors())
        got = None
    # what the handler reads next, the same way after either path
    expected, got = _strictly(expected), _strictly(got)
    if expected is None or got is None:
        assert expected is got
    else:
        assert got == expected


def _strictly(fields: dict[str, object] | None) -> dict[str, object] | None:
    """``fields`` once ``extra_limits`` has read its rate limits (None if it refuses)."""
    if fields is None:
        return None
    items = fields.get("ratelimits")
    try:
        extra_limits(items if isinstance(items, list) else None)
    except ValidationError:
        return None
    return fields


async def test_record_false_leaves_the_usage_record_to_the_caller(world: World) -> None:
    """A middleware verifying for a request it will report itself sends
    ``record: false``: the call is answered alike but recorded only when asked."""
    api = await world.api()
    key = await world.key(api["id"])
    answers = []
    for record in (True, False, False):
        response = await world.client.post(
            "/v1/keys/verify", json={"key": key["key"], "record": record}, headers=world.auth()
        )
        assert response.status_code == 200
        answers.append(response.json())
    assert answers[0] == answers[1] == answers[2]
    await world.ks.flush()
    records = await world.ks.store.list_usage(world.workspace_id, key_id=key["id"])
    assert len(records) == 1
    for bad in ("no", None, 0):
        refused = await world.client.post(
            "/v1/keys/verify", json={"key": key["key"], "record": bad}, headers=world.auth()
        )
        assert_problem(refused, 422)
