"""``accepted``: the one reading of verified claims, shared by the service's verifier
and the SDK's."""

from __future__ import annotations

from typing import Any

import pytest

from keystead.core.tokens import TokenRefused, VerifiedToken, accepted

CLAIMS: dict[str, Any] = {
    "sub": "key_1",
    "jti": "j1",
    "exp": 1_900_000_000,
    "aud": "api_1",
    "owner_id": "acme",
    "permissions": ["docs.read", "docs.write"],
    "meta": {"tier": "gold"},
}


def test_well_formed_claims_name_the_token() -> None:
    token = accepted(CLAIMS, "api_1")
    assert token == VerifiedToken(
        CLAIMS, "key_1", "api_1", "acme", ("docs.read", "docs.write"), {"tier": "gold"}, "j1",
        1_900_000_000.0, "api_1",
    )  # fmt: skip


def test_optional_claims_may_be_absent() -> None:
    bare = {name: CLAIMS[name] for name in ("sub", "jti", "exp", "aud")}
    token = accepted(bare, "api_1")
    assert (token.owner_id, token.permissions, token.meta) == (None, (), None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sub", 7),
        ("jti", None),
        ("exp", True),
        ("exp", "1900000000"),
        ("aud", ["api_1", "api_2"]),
        ("owner_id", 3),
        ("permissions", "docs.read"),
        ("permissions", ["docs.read", 1]),
        ("meta", ["x"]),
    ],
)
def test_a_claim_of_the_wrong_type_refuses_the_token(name: str, value: Any) -> None:
    with pytest.raises(TokenRefused) as refused:
        accepted({**CLAIMS, name: value}, "api_1")
    assert refused.value.reason == "claims"
