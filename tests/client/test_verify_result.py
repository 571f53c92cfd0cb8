"""``VerifyResult``: every answer the server gives reads into it, and anything
malformed is an ``ApiError``, never a ``KeyError`` or a wrong value."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from keystead.client import ApiError, LimitInfo, VerifyResult
from keystead.client._verify import VerifyRequest, parse_verify
from keystead.core.answers import LimitLike, most_constraining_first

FULL = {
    "valid": False,
    "code": "RATE_LIMITED",
    "key_id": "key_1",
    "api_id": "api_1",
    "owner_id": "org_7",
    "name": "acme",
    "permissions": ["a.read"],
    "meta": {"plan": "pro"},
    "expires_at": "2030-01-01T00:00:00Z",
    "reason": "rps",
    "limits": [
        {"name": "credits", "kind": "credits", "limit": 100, "remaining": 40, "reset": None},
        {
            "name": "rps",
            "kind": "rate_limit",
            "limit": 5,
            "remaining": 0,
            "reset": 1750000001,
            "retry_after": 0.25,
            "window": 60,
        },
    ],
    "retry_after": 0.25,
    "leases": ["lease|1"],
    "shed": False,
    "rotated_to": None,
    "some_future_member": {"ignored": True},
}


def test_a_full_answer() -> None:
    result = parse_verify(FULL)

    assert result == VerifyResult(
        valid=False,
        code="RATE_LIMITED",
        key_id="key_1",
        api_id="api_1",
        owner_id="org_7",
        name="acme",
        permissions=("a.read",),
        meta={"plan": "pro"},
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        reason="rps",
        limits=(
            LimitInfo("credits", "credits", 100, 40, None, None),
            LimitInfo("rps", "rate_limit", 5, 0, 1750000001.0, 0.25, refused=True, window=60),
        ),
        retry_after=0.25,
        leases=("lease|1",),
    )
    assert [limit.allowed for limit in result.limits] == [True, False]


def test_a_limit_that_refused_without_a_wait_is_not_allowed() -> None:
    answer = {
        "valid": False,
        "code": "USAGE_EXCEEDED",
        "reason": "credits",
        "limits": [
            {"name": "credits", "kind": "credits", "limit": 9, "remaining": 0, "reset": None}
        ],
    }

    (credits,) = parse_verify(answer).limits

    assert (credits.retry_after, credits.allowed) == (None, False)


def test_limit_info_is_what_the_answer_helpers_take() -> None:
    limits: Sequence[LimitLike] = parse_verify(FULL).limits

    assert [limit.name for limit in most_constraining_first(limits)] == ["rps", "credits"]


def test_the_smallest_answer() -> None:
    assert parse_verify({"valid": False, "code": "NOT_FOUND"}) == VerifyResult(False, "NOT_FOUND")


@pytest.mark.parametrize(
    "changes",
    [
        {"valid": None},
        {"valid": "true"},
        {"code": None},
        {"code": ""},
        {"key_id": 7},
        {"permissions": "a.read"},
        {"permissions": [1]},
        {"meta": []},
        {"expires_at": "soon"},
        {"expires_at": "2030-01-01T00:00:00"},
        {"limits": {}},
        {"limits": ["rps"]},
        {"limits": [{"name": "rps", "kind": "rate_limit", "limit": "5", "remaining": 0}]},
        {"limits": [{"name": "rps", "kind": "rate_limit", "limit": True, "remaining": 0}]},
        {"limits": [{"kind": "rate_limit", "limit": 5, "remaining": 0}]},
        {"limits": [{"name": "r", "kind": "rate_limit", "limit": 5, "remaining": 0, "window": 0}]},
        {
            "limits": [
                {"name": "r", "kind": "rate_limit", "limit": 5, "remaining": 0, "window": 1.5}
            ]
        },
        {"retry_after": "1"},
        {"retry_after": float("nan")},
        {"leases": [None]},
        {"shed": 1},
    ],
)
def test_a_malformed_answer_is_an_api_error(changes: dict[str, Any]) -> None:
    broken = {**FULL, **changes}
    if changes.get("valid", 0) is None:
        del broken["valid"]

    with pytest.raises(ApiError) as caught:
        parse_verify(broken)

    assert (caught.value.status, caught.value.title) == (200, "Invalid response")


def test_the_request_never_shows_its_key() -> None:
    request = VerifyRequest(key="ks_secret_key_material", ip="192.0.2.1", record=False)

    assert "ks_secret" not in repr(request)
    assert request.body() == {"key": "ks_secret_key_material", "ip": "192.0.2.1", "record": False}
    assert "record" not in request.body(with_record=False)
    assert "record" not in VerifyRequest(key="k").body()
    with pytest.raises(TypeError):
        VerifyRequest(key=None)  # type: ignore[arg-type]
