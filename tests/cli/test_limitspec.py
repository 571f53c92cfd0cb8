"""The compact limit syntax: what each form means, every kind of mistake, and the
round trip format -> parse for any spec (hypothesis)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keystead.cli import _limitspec as spec
from keystead.cli._limitopts import (
    concurrency_option,
    credits_option,
    quota_option,
    ratelimit_option,
)
from keystead.cli._runtime import UsageProblem
from keystead.limits import Concurrency, Credits, Quota, RateLimit

# -- what the forms mean ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rps=100/1s", {"name": "rps", "limit": 100, "duration_s": 1.0, "algorithm": "gcra"}),
        (
            "rpm=1000/60s,burst=50",
            {"name": "rpm", "limit": 1000, "duration_s": 60.0, "algorithm": "gcra", "burst": 50},
        ),
        (
            "day=10000/1d,algorithm=sliding_window",
            {"name": "day", "limit": 10000, "duration_s": 86400.0, "algorithm": "sliding_window"},
        ),
        ("h=5/1.5h", {"name": "h", "limit": 5, "duration_s": 5400.0, "algorithm": "gcra"}),
        ("fast=1/0.1s", {"name": "fast", "limit": 1, "duration_s": 0.1, "algorithm": "gcra"}),
        (
            " api.v2:read-x = 3 / 2m , BURST = 4 ",
            {"name": "api.v2:read-x", "limit": 3, "duration_s": 120.0, "algorithm": "gcra"}
            | {"burst": 4},
        ),
        (
            "w=1/1m,algorithm=GCRA",
            {"name": "w", "limit": 1, "duration_s": 60.0, "algorithm": "gcra"},
        ),
    ],
)
def test_ratelimit_forms(text: str, expected: dict[str, Any]) -> None:
    parsed = spec.parse_ratelimit(text)

    assert parsed == expected
    assert RateLimit.from_dict(parsed).to_dict() == parsed  # the service's canonical form


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10000/month", {"limit": 10000, "period": "month", "timezone": "UTC", "offset_s": 0}),
        (
            "500/day,tz=Europe/Paris,offset=3600",
            {"limit": 500, "period": "day", "timezone": "Europe/Paris", "offset_s": 3600},
        ),
        ("7/week,offset=1d", {"limit": 7, "period": "week", "timezone": "UTC", "offset_s": 86400}),
        (
            "0/Day,timezone=America/New_York",
            {"limit": 0, "period": "day", "timezone": "America/New_York", "offset_s": 0},
        ),
    ],
)
def test_quota_forms(text: str, expected: dict[str, Any]) -> None:
    parsed = spec.parse_quota(text)

    assert parsed == expected
    assert Quota.from_dict(parsed).to_dict() == parsed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1000", {"remaining": 1000, "refill": None}),
        (
            "1000,refill=100/1d",
            {"remaining": 1000, "refill": {"amount": 100, "interval_s": 86400.0, "mode": "set"}},
        ),
        (
            "1000,refill=1000/30d,mode=set",
            {"remaining": 1000, "refill": {"amount": 1000, "interval_s": 2592000.0, "mode": "set"}},
        ),
        (
            "0,refill=10/1h,mode=add,cap=500",
            {
                "remaining": 0,
                "refill": {"amount": 10, "interval_s": 3600.0, "mode": "add", "cap": 500},
            },
        ),
    ],
)
def test_credits_forms(text: str, expected: dict[str, Any]) -> None:
    parsed = spec.parse_credits(text)

    assert parsed == expected
    assert Credits.from_dict(parsed).to_dict() == parsed


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5", {"limit": 5, "lease_s": 60.0}), ("5,lease=30s", {"limit": 5, "lease_s": 30.0})],
)
def test_concurrency_forms(text: str, expected: dict[str, Any]) -> None:
    parsed = spec.parse_concurrency(text)

    assert parsed == expected
    assert Concurrency.from_dict(parsed).to_dict() == parsed


def test_formatting_leaves_defaults_out() -> None:
    assert spec.format_ratelimit(spec.parse_ratelimit("rpm=1000/60s,burst=50")) == (
        "rpm=1000/1m,burst=50"
    )
    assert spec.format_quota(spec.parse_quota("10000/month,tz=UTC,offset=0")) == "10000/month"
    assert spec.format_credits({"remaining": 5, "refill": None}) == "5"
    assert spec.format_concurrency({"limit": 2, "lease_s": 60.0}) == "2"
    assert spec.format_seconds(90) == "90s"
    assert spec.format_seconds(7200) == "2h"
    assert spec.format_seconds(0.25) == "0.25s"


# -- mistakes: one message naming the option ---------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("rps", "NAME=LIMIT/DURATION"),
        ("=5/1s", "NAME=LIMIT/DURATION"),
        ("rps=5", "expected NAME=LIMIT/DURATION"),
        ("rps=5/", "expected NAME=LIMIT/DURATION"),
        ("rps=5/1", "needs a unit"),
        ("rps=5/1w", "needs a unit"),
        ("rps=five/1s", "whole number"),
        ("rps=-5/1s", "whole number"),
        ("rps=1.5/1s", "whole number"),
        ("rps=5/0s", "longer than zero"),
        ("rps=5/1e30d", "too long"),
        ("r ps=5/1s", "a name is"),
        ("rps=5/1s,burst", "key=value"),
        ("rps=5/1s,burst=", "key=value"),
        ("rps=5/1s,bust=3", "unknown setting 'bust'"),
        ("rps=5/1s,burst=1,burst=2", "given twice"),
        ("rps=5/1s,algorithm=leaky", "algorithm is one of gcra, sliding_window"),
    ],
)
def test_ratelimit_mistakes(text: str, message: str) -> None:
    with pytest.raises(UsageProblem) as caught:
        spec.parse_ratelimit(text)

    assert message in caught.value.message
    assert caught.value.message.startswith("--ratelimit")


@pytest.mark.parametrize(
    ("parse", "option", "text", "message"),
    [
        (spec.parse_quota, "--quota", "10000", "LIMIT/PERIOD"),
        (spec.parse_quota, "--quota", "10000/year", "day, week, month"),
        (spec.parse_quota, "--quota", "1/day,offset=1.5s", "whole number of seconds"),
        (spec.parse_quota, "--quota", "1/day,tz=UTC,timezone=UTC", "not both"),
        (spec.parse_quota, "--quota", "1/day,zone=UTC", "unknown setting"),
        (spec.parse_credits, "--credits", "lots", "whole number"),
        (spec.parse_credits, "--credits", "10,mode=add", "mode needs refill"),
        (spec.parse_credits, "--credits", "10,refill=5", "refill=AMOUNT/DURATION"),
        (spec.parse_credits, "--credits", "10,refill=5/1d,mode=sometimes", "mode is one of"),
        (spec.parse_concurrency, "--concurrency", "5,lease=30", "needs a unit"),
        (spec.parse_concurrency, "--concurrency", "5/1s", "whole number"),
    ],
)
def test_other_mistakes(parse: Any, option: str, text: str, message: str) -> None:
    with pytest.raises(UsageProblem) as caught:
        parse(text)

    assert message in caught.value.message
    assert caught.value.message.startswith(option)


# -- JSON instead of the compact form ------------------------------------------------


def test_json_values_pass_through_as_given(tmp_path: Path) -> None:
    rates = tmp_path / "rates.json"
    rates.write_text(json.dumps([{"name": "a", "limit": 1, "duration_s": 1}]))
    one = '{"name": "b", "limit": 2, "duration_s": 60}'

    assert ratelimit_option(["x=1/1s", one, f"@{rates}"]) == [
        {"name": "x", "limit": 1, "duration_s": 1.0, "algorithm": "gcra"},
        {"name": "b", "limit": 2, "duration_s": 60},
        {"name": "a", "limit": 1, "duration_s": 1},
    ]
    assert quota_option('{"limit": 5}') == {"limit": 5}
    assert credits_option('{"remaining": 5, "refill": null}') == {"remaining": 5, "refill": None}
    assert concurrency_option(None) is None
    assert ratelimit_option([]) is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: quota_option("[1, 2]"), "JSON object"),
        (lambda: quota_option("{not json"), "not valid JSON"),
        (lambda: credits_option("@/nonexistent/credits.json"), "cannot read"),
        (lambda: ratelimit_option(["[1]"]), "list of objects"),
        (lambda: ratelimit_option(["[]"]), "list of objects"),
    ],
)
def test_bad_json_is_a_usage_problem(call: Any, message: str) -> None:
    with pytest.raises(UsageProblem) as caught:
        call()

    assert message in caught.value.message


# -- round trip: parse(format(spec)) == spec --------------------------------------------

_names = st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True)
_counts = st.integers(min_value=0, max_value=10**12)
_seconds = st.one_of(
    st.integers(min_value=1, max_value=400 * 86400).map(float),
    st.floats(min_value=1e-6, max_value=400 * 86400.0, allow_nan=False, allow_infinity=False),
)


@st.composite
def _ratelimits(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": draw(_names),
        "limit": draw(_counts),
        "duration_s": draw(_seconds),
        "algorithm": draw(st.sampled_from(spec.ALGORITHMS)),
    }
    if draw(st.booleans()):
        out["burst"] = draw(_counts)
    return out


_quotas = st.fixed_dictionaries(
    {
        "limit": _counts,
        "period": st.sampled_from(spec.PERIODS),
        "timezone": st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]),
        "offset_s": st.integers(min_value=0, max_value=28 * 86400 - 1),
    }
)


@st.composite
def _credits(draw: st.DrawFn) -> dict[str, Any]:
    if not draw(st.booleans()):
        return {"remaining": draw(_counts), "refill": None}
    refill: dict[str, Any] = {
        "amount": draw(_counts),
        "interval_s": draw(_seconds),
        "mode": draw(st.sampled_from(spec.MODES)),
    }
    if draw(st.booleans()):
        refill["cap"] = draw(_counts)
    return {"remaining": draw(_counts), "refill": refill}


_concurrencies = st.fixed_dictionaries({"limit": _counts, "lease_s": _seconds})


@given(_ratelimits())
def test_ratelimit_round_trip(value: dict[str, Any]) -> None:
    assert spec.parse_ratelimit(spec.format_ratelimit(value)) == value


@given(_quotas)
def test_quota_round_trip(value: dict[str, Any]) -> None:
    assert spec.parse_quota(spec.format_quota(value)) == value


@given(_credits())
def test_credits_round_trip(value: dict[str, Any]) -> None:
    assert spec.parse_credits(spec.format_credits(value)) == value


@given(_concurrencies)
def test_concurrency_round_trip(value: dict[str, Any]) -> None:
    assert spec.parse_concurrency(spec.format_concurrency(value)) == value


@given(_seconds)
def test_durations_round_trip_exactly(seconds: float) -> None:
    text = spec.format_seconds(seconds)

    assert spec.parse_concurrency(f"1,lease={text}")["lease_s"] == seconds
