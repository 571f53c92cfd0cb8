"""Specs from JSON: strict validation naming the field; to_dict round trips."""

from __future__ import annotations

from typing import Any

import pytest

from keystead.errors import ValidationError
from keystead.limits import Concurrency, Credits, Quota, RateLimit, Refill


@pytest.mark.parametrize(
    "spec",
    [
        RateLimit("api", 100, 60.0),
        RateLimit("burst", 10, 1.0, burst=20),
        RateLimit("exact", 5, 0.5, algorithm="sliding_window"),
        Quota(1000, "week", "Europe/Berlin", offset_s=3600),
        Credits(50),
        Credits(0, Refill(10, 3600.0, "add", cap=100)),
        Credits(5, Refill(5, 86_400.0)),
        Concurrency(3, 10.0),
    ],
)
def test_round_trip(spec: RateLimit | Quota | Credits | Concurrency) -> None:
    assert type(spec).from_dict(spec.to_dict()) == spec


def test_defaults() -> None:
    spec = RateLimit.from_dict({"name": "a", "limit": 3, "duration_s": 1})
    assert (spec.algorithm, spec.effective_burst, spec.duration_s) == ("gcra", 3, 1.0)
    assert Quota.from_dict({"limit": 5}) == Quota(5, "month", "UTC", 0)


@pytest.mark.parametrize(
    ("cls", "data", "field"),
    [
        (RateLimit, {"name": "a", "limit": 0, "duration_s": 1}, "limit"),
        (RateLimit, {"name": "a", "limit": True, "duration_s": 1}, "limit"),
        (RateLimit, {"name": "a", "limit": 1.5, "duration_s": 1}, "limit"),
        (RateLimit, {"name": "a", "limit": 1, "duration_s": 0}, "duration_s"),
        (RateLimit, {"name": "a", "limit": 1, "duration_s": "1"}, "duration_s"),
        (RateLimit, {"name": "", "limit": 1, "duration_s": 1}, "name"),
        (RateLimit, {"name": "a", "limit": 1}, "duration_s"),
        (RateLimit, {"name": "a", "limit": 1, "duration_s": 1, "x": 1}, "x"),
        (RateLimit, {"name": "a", "limit": 1, "duration_s": 1, "algorithm": "leaky"}, "algorithm"),
        (
            RateLimit,
            {"name": "a", "limit": 1, "duration_s": 1, "algorithm": "sliding_window", "burst": 2},
            "burst",
        ),
        (
            RateLimit,
            {"name": "a", "limit": 200_000, "duration_s": 1, "algorithm": "sliding_window"},
            "limit",
        ),
        (Quota, {"limit": 1, "period": "year"}, "period"),
        (Quota, {"limit": 1, "timezone": "Mars/Olympus"}, "timezone"),
        (Quota, {"limit": 1, "period": "day", "offset_s": 86_400}, "offset_s"),
        (Quota, {"limit": -1}, "limit"),
        (Credits, {"remaining": 1, "refill": {"amount": 0, "interval_s": 1}}, "refill.amount"),
        (
            Credits,
            {"remaining": 1, "refill": {"amount": 1, "interval_s": 1, "cap": 5}},
            "refill.cap",
        ),
        (Credits, {"remaining": 1, "refill": []}, "refill"),
        (Concurrency, {"limit": 0}, "limit"),
        (Concurrency, {"limit": 1, "lease_s": -1}, "lease_s"),
    ],
)
def test_invalid(cls: Any, data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        cls.from_dict(data)
    assert caught.value.field == field


def test_nested_path_in_field_names() -> None:
    with pytest.raises(ValidationError) as caught:
        RateLimit.from_dict({"name": "a", "limit": -1, "duration_s": 1}, "rate_limits[2]")
    assert caught.value.field == "rate_limits[2].limit"
    assert "rate_limits[2].limit" in caught.value.detail
    with pytest.raises(ValidationError) as caught:
        Quota.from_dict("monthly", "quota")
    assert caught.value.field == "quota"
