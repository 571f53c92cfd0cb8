"""The requests the limit methods send (no server: a mock transport records them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from keystead.client import Client

ROOT_KEY = "ksroot_" + "S" * 38
RPS = {"name": "rps", "limit": 10, "duration_s": 1.0}

Sent = tuple[str, str, Any]


def _recording(answer: Any = None, status: int = 200) -> tuple[Client, list[Sent]]:
    sent: list[Sent] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        sent.append((request.method, request.url.raw_path.decode(), body))
        if status == 204:
            return httpx.Response(204)
        return httpx.Response(status, json={"id": "x"} if answer is None else answer)

    return Client("http://ks.test", ROOT_KEY, transport=httpx.MockTransport(handler)), sent


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            lambda c: c.create_plan("pro", ratelimits=[RPS], quota={"limit": 5}, priority=10),
            (
                "POST",
                "/v1/plans",
                {"name": "pro", "ratelimits": [RPS], "quota": {"limit": 5}, "priority": 10},
            ),
        ),
        (lambda c: c.get_plan("plan_1"), ("GET", "/v1/plans/plan_1", None)),
        (
            lambda c: c.update_plan("plan_1", {"quota": None, "priority": 3}),
            ("PATCH", "/v1/plans/plan_1", {"quota": None, "priority": 3}),
        ),
        (
            lambda c: c.put_owner("team/eng", credits={"remaining": 5}),
            ("PUT", "/v1/owners/team%2Feng", {"credits": {"remaining": 5}}),
        ),
        (lambda c: c.get_owner("a b"), ("GET", "/v1/owners/a%20b", None)),
        (
            lambda c: c.update_api("api_1", {"limits": {"failure_policy": "closed"}}),
            ("PATCH", "/v1/apis/api_1", {"limits": {"failure_policy": "closed"}}),
        ),
        (
            lambda c: c.create_api("x", limits={"ip_ratelimits": [RPS]}),
            ("POST", "/v1/apis", {"name": "x", "limits": {"ip_ratelimits": [RPS]}}),
        ),
        (
            lambda c: c.verify_key("ks_k", cost=0, ratelimits=[RPS]),
            ("POST", "/v1/keys/verify", {"key": "ks_k", "cost": 0, "ratelimits": [RPS]}),
        ),
        (lambda c: c.verify_key("ks_k"), ("POST", "/v1/keys/verify", {"key": "ks_k"})),
        (
            lambda c: c.update_key("key_1", {"credits": {"remaining": 5}, "reset_quota": True}),
            ("PATCH", "/v1/keys/key_1", {"credits": {"remaining": 5}, "reset_quota": True}),
        ),
        (
            lambda c: c.create_key("api_1", plan_id="plan_1", concurrency={"limit": 2}),
            (
                "POST",
                "/v1/keys",
                {"plan_id": "plan_1", "concurrency": {"limit": 2}, "api_id": "api_1"},
            ),
        ),
        (
            lambda c: c.failed_attempts("2001:db8::1"),
            ("GET", "/v1/limits/failed_attempts?ip=2001%3Adb8%3A%3A1", None),
        ),
    ],
)
def test_each_method_sends_its_request(call: Callable[[Client], object], expected: Sent) -> None:
    client, sent = _recording()

    with client:
        call(client)

    assert sent == [expected]


def test_lists_read_their_items() -> None:
    client, sent = _recording({"items": [{"owner_id": "o"}]})

    with client:
        owners = client.list_owners()
        plans = client.list_plans()

    assert owners == plans == [{"owner_id": "o"}]
    assert [s[:2] for s in sent] == [("GET", "/v1/owners"), ("GET", "/v1/plans")]


def test_deletes_and_release_need_no_answer_body() -> None:
    client, sent = _recording(status=204)

    with client:
        client.delete_plan("plan_1")
        client.delete_owner("o/1")
        client.release(["{ws}k:key:cc|lease1"])

    assert sent == [
        ("DELETE", "/v1/plans/plan_1", None),
        ("DELETE", "/v1/owners/o%2F1", None),
        ("POST", "/v1/keys/verify/release", {"leases": ["{ws}k:key:cc|lease1"]}),
    ]


def test_ids_and_ips_are_required() -> None:
    client, sent = _recording()

    with client:
        with pytest.raises(ValueError):
            client.get_owner("")
        with pytest.raises(ValueError):
            client.failed_attempts("")
    assert sent == []
