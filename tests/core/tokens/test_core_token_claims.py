"""Access token claims: their shape, and the time, issuer and audience checks."""

from __future__ import annotations

from typing import Any

import pytest
from _core_tokens_support import API_ID, ISSUER, NOW, claims

from keystead.core.tokens import (
    LEEWAY_S,
    REGISTERED_CLAIMS,
    TokenRefused,
    access_token_claims,
    check_claims,
    new_jti,
)
from keystead.errors import ValidationError


def reason(token_claims: dict[str, Any], now: float = NOW, **options: Any) -> str | None:
    options.setdefault("issuer", ISSUER)
    options.setdefault("audience", API_ID)
    try:
        check_claims(token_claims, now=now, **options)
    except TokenRefused as refused:
        return refused.reason
    return None


def test_an_access_token_carries_the_rfc_9068_claims() -> None:
    made = access_token_claims(
        issuer=ISSUER,
        key_id="key_1",
        api_id=API_ID,
        owner_id="user_1",
        audience="billing",
        permissions=["documents.read", "documents.write"],
        issued_at=NOW + 0.9,
        ttl_s=300,
        jti="tok_1",
        meta={"plan": "pro"},
        extra={"tenant": "acme"},
    )
    assert made == {
        "iss": ISSUER,
        "sub": "key_1",
        "aud": "billing",
        "exp": int(NOW) + 300,
        "iat": int(NOW),  # rounded down: a denial at NOW + 0.5 refuses it
        "nbf": int(NOW),
        "jti": "tok_1",
        "client_id": "key_1",
        "owner_id": "user_1",
        "api_id": API_ID,
        "permissions": ["documents.read", "documents.write"],
        "scope": "documents.read documents.write",
        "meta": {"plan": "pro"},
        "tenant": "acme",
    }


def test_no_owner_and_no_meta_leave_their_claims_out() -> None:
    made = access_token_claims(
        issuer=ISSUER,
        key_id="key_1",
        api_id=API_ID,
        owner_id=None,
        audience=API_ID,
        permissions=[],
        issued_at=NOW,
        ttl_s=60,
        jti="tok_1",
    )
    assert "owner_id" not in made and "meta" not in made
    assert made["scope"] == "" and made["permissions"] == []


@pytest.mark.parametrize("name", ["sub", "exp", "permissions", "scope", "meta", "cnf"])
def test_extra_claims_never_override_registered_ones(name: str) -> None:
    assert name in REGISTERED_CLAIMS
    with pytest.raises(ValidationError) as refused:
        access_token_claims(
            issuer=ISSUER,
            key_id="key_1",
            api_id=API_ID,
            owner_id=None,
            audience=API_ID,
            permissions=[],
            issued_at=NOW,
            ttl_s=60,
            jti="tok_1",
            extra={name: "x"},
        )
    assert refused.value.field == "claims"


def test_fresh_claims_pass() -> None:
    assert reason(claims()) is None
    assert reason(claims(), issuer=None, audience=None) is None


def test_exp_is_honoured_with_the_leeway() -> None:
    exp = claims()["exp"]
    assert reason(claims(), now=exp + LEEWAY_S - 0.001) is None
    assert reason(claims(), now=exp + LEEWAY_S) == "expired"
    assert reason(claims(), now=exp + 3600) == "expired"
    assert reason(claims(), now=exp + 1, leeway_s=0) == "expired"


def test_nbf_and_iat_in_the_future_are_honoured_with_the_leeway() -> None:
    later = NOW + 60
    assert reason(claims(nbf=later), now=later - LEEWAY_S) is None
    assert reason(claims(nbf=later), now=later - LEEWAY_S - 0.001) == "not_yet_valid"
    assert reason(claims(iat=later, nbf=NOW), now=later - LEEWAY_S) is None
    assert reason(claims(iat=later, nbf=NOW), now=later - LEEWAY_S - 1) == "not_yet_valid"


@pytest.mark.parametrize(
    "change",
    [
        {"exp": None},
        {"exp": "1800000300"},
        {"exp": True},
        {"iat": None},
        {"iat": [1]},
        {"nbf": "0"},
    ],
)
def test_missing_or_ill_typed_times_are_refused(change: dict[str, Any]) -> None:
    made = {name: value for name, value in {**claims(), **change}.items() if value is not None}
    assert reason(made) == "claims"


def test_the_issuer_must_be_the_expected_one() -> None:
    assert reason(claims(iss="https://evil.example/apis/api_1")) == "issuer"
    assert reason(claims(iss=None)) == "issuer"
    assert reason(claims(iss=[ISSUER])) == "issuer"
    assert reason(claims(), issuer=["https://other", ISSUER]) is None
    assert reason(claims(iss="https://other"), issuer=None) is None


def test_the_audience_must_be_an_accepted_one() -> None:
    assert reason(claims(aud="api_2")) == "audience"
    assert reason(claims(aud=None)) == "audience"
    assert reason(claims(aud=["api_2", API_ID])) is None
    assert reason(claims(aud=["api_2", 7])) == "audience"
    assert reason(claims(aud="billing"), audience={"billing", API_ID}) is None
    assert reason(claims(aud="api_2"), audience=None) is None
    assert reason(claims(aud={"x": API_ID})) == "audience"


def test_token_ids_are_fresh_and_long() -> None:
    ids = {new_jti() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(jti.startswith("tok_") and len(jti) == 4 + 24 for jti in ids)
