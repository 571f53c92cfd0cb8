"""Token policies: defaults, validation naming the field, and the request checks."""

from __future__ import annotations

from typing import Any

import pytest

from keystead.core.tokens import InvalidTokenRequest, TokenPolicy
from keystead.errors import ValidationError

DEFAULTS = {
    "enabled": True,
    "algorithm": "EdDSA",
    "default_ttl_s": 300,
    "min_ttl_s": 10,
    "max_ttl_s": 3600,
    "audiences": [],
    "include_meta": False,
    "allowed_claims": [],
    "rotate_every_s": None,
}


def test_an_absent_or_empty_policy_is_the_default() -> None:
    assert TokenPolicy.from_dict(None) == TokenPolicy.from_dict({}) == TokenPolicy()
    assert TokenPolicy().to_dict() == DEFAULTS


def test_a_policy_round_trips_through_its_json() -> None:
    data = {
        **DEFAULTS,
        "algorithm": "ES256",
        "default_ttl_s": 60,
        "min_ttl_s": 30,
        "max_ttl_s": 600,
        "audiences": ["billing", "reports", "billing"],
        "include_meta": True,
        "allowed_claims": ["tenant", "org:region"],
        "rotate_every_s": 86_400,
    }
    policy = TokenPolicy.from_dict(data)
    assert policy.audiences == ("billing", "reports")  # duplicates dropped
    assert policy.to_dict() == {**data, "audiences": ["billing", "reports"]}
    assert TokenPolicy.from_dict(policy.to_dict()) == policy
    assert TokenPolicy.from_dict({"max_ttl_s": 60, "default_ttl_s": 60}).max_ttl_s == 60


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"enabled": "yes"}, "enabled"),
        ({"include_meta": 1}, "include_meta"),
        ({"algorithm": "none"}, "algorithm"),
        ({"algorithm": "HS512"}, "algorithm"),
        ({"min_ttl_s": 0}, "min_ttl_s"),
        ({"min_ttl_s": 10.5}, "min_ttl_s"),
        ({"max_ttl_s": 5}, "max_ttl_s"),  # under min_ttl_s
        ({"max_ttl_s": 86_401}, "max_ttl_s"),
        ({"default_ttl_s": 7200}, "default_ttl_s"),  # over max_ttl_s
        ({"default_ttl_s": 5}, "default_ttl_s"),
        ({"default_ttl_s": True}, "default_ttl_s"),
        ({"audiences": "billing"}, "audiences"),
        ({"audiences": [""]}, "audiences"),
        ({"audiences": [3]}, "audiences"),
        ({"audiences": ["a"] * 33}, "audiences"),
        ({"allowed_claims": ["sub"]}, "allowed_claims"),
        ({"allowed_claims": ["permissions"]}, "allowed_claims"),
        ({"allowed_claims": ["has space"]}, "allowed_claims"),
        ({"rotate_every_s": 60}, "rotate_every_s"),
        ({"rotate_every_s": "daily"}, "rotate_every_s"),
        ({"ttl": 60}, "ttl"),
    ],
)
def test_a_bad_policy_names_its_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        TokenPolicy.from_dict(data)
    assert refused.value.field == field
    assert not isinstance(refused.value, InvalidTokenRequest)


def test_a_policy_that_is_no_object_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        TokenPolicy.from_dict(["enabled"])  # type: ignore[arg-type]
    assert refused.value.field == "token_policy"


def test_direct_construction_obeys_the_same_bounds() -> None:
    with pytest.raises(ValidationError):
        TokenPolicy(default_ttl_s=10_000)


def test_a_ttl_is_the_default_or_within_bounds() -> None:
    policy = TokenPolicy(min_ttl_s=30, default_ttl_s=60, max_ttl_s=600)
    assert policy.check_ttl(None) == 60
    assert policy.check_ttl(30) == 30 and policy.check_ttl(600) == 600
    for bad in (29, 601, 0, -1, True):
        with pytest.raises(InvalidTokenRequest) as refused:
            policy.check_ttl(bad)
        assert refused.value.field == "ttl_s" and refused.value.status == 400


def test_audiences_are_the_api_or_the_policys_extra_ones() -> None:
    policy = TokenPolicy(audiences=("billing",))
    assert policy.allowed_audience(None, "api_1")
    assert policy.allowed_audience("api_1", "api_1")
    assert policy.allowed_audience("billing", "api_1")
    assert not policy.allowed_audience("api_2", "api_1")
    assert policy.check_audience(None, "api_1") == "api_1"
    assert policy.check_audience("billing", "api_1") == "billing"
    with pytest.raises(InvalidTokenRequest) as refused:
        policy.check_audience("api_2", "api_1")
    assert refused.value.field == "audience"


def test_extra_claims_must_be_allowed_by_name() -> None:
    policy = TokenPolicy(allowed_claims=("tenant",))
    assert policy.extra_claims(None) == {} and policy.extra_claims({}) == {}
    assert policy.extra_claims({"tenant": "acme"}) == {"tenant": "acme"}
    with pytest.raises(InvalidTokenRequest) as refused:
        policy.extra_claims({"tenant": "acme", "role": "admin"})
    assert refused.value.field == "claims"
    with pytest.raises(InvalidTokenRequest):
        TokenPolicy().extra_claims({"sub": "key_2"})
