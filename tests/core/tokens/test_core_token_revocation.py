"""Denials: the in-memory state verifiers consult, and the signed document."""

from __future__ import annotations

from typing import Any

import pytest
from _core_tokens_support import API_ID, ISSUER, KEY_ID, NOW, claims, keys_of, signer, verifying

from keystead.core.tokens import (
    DOCUMENT_TYPE,
    Denial,
    RevocationState,
    TokenRefused,
    denials_of_document,
    document_claims,
    verified,
    verified_document,
)
from keystead.core.tokens.keys import b64url_decode, b64url_encode

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def key_denial(seq: int, not_before: float, subject: str = KEY_ID) -> Denial:
    return Denial(seq, "key", subject, not_before=not_before, expires_at=not_before + 3600)


def jti_denial(seq: int, jti: str, aud: str | None = None, expires_at: float = NOW + 300) -> Denial:
    return Denial(seq, "jti", jti, not_before=NOW, expires_at=expires_at, aud=aud)


def test_an_empty_state_refuses_nothing() -> None:
    state = RevocationState()
    assert state.seq == 0 and len(state) == 0
    assert not state.refuses(claims())
    assert not state.refuses({})


def test_a_key_denial_refuses_the_tokens_issued_before_it() -> None:
    state = RevocationState([key_denial(1, NOW + 10)])
    assert state.seq == 1
    assert state.refuses(claims(iat=NOW))
    assert state.refuses(claims(iat=NOW + 9.5))
    assert not state.refuses(claims(iat=NOW + 10))
    assert not state.refuses(claims(iat=NOW, sub="key_2"))
    missing_iat = claims()
    del missing_iat["iat"]
    assert state.refuses(missing_iat)
    assert state.refuses(claims(iat="later"))


def test_a_later_denial_of_the_same_key_moves_its_watermark_forward() -> None:
    state = RevocationState([key_denial(1, NOW)])
    assert not state.refuses(claims(iat=NOW + 5))
    state.apply([key_denial(7, NOW + 20)])
    assert state.seq == 7
    assert state.refuses(claims(iat=NOW + 5))
    state.apply([key_denial(3, NOW)])  # an older delta, applied late, moves nothing back
    assert state.seq == 7 and state.refuses(claims(iat=NOW + 5))
    assert len(state) == 1


def test_a_jti_denial_refuses_that_token_only() -> None:
    state = RevocationState([jti_denial(1, "tok_fixed")])
    assert state.refuses(claims())
    assert not state.refuses(claims(jti="tok_other"))
    assert not state.refuses(claims(jti=None))


def test_a_jti_denial_for_one_audience_leaves_the_others() -> None:
    state = RevocationState([jti_denial(1, "tok_fixed", aud="billing")])
    assert state.refuses(claims(aud="billing"))
    assert state.refuses(claims(aud=["reports", "billing"]))
    assert not state.refuses(claims(aud=API_ID))
    assert not state.refuses(claims(aud=[API_ID]))
    state.apply([jti_denial(2, "tok_fixed")])
    assert state.refuses(claims(aud=API_ID))


def test_applying_a_denial_twice_changes_nothing() -> None:
    denials = [key_denial(1, NOW), jti_denial(2, "tok_a"), jti_denial(3, "tok_a", aud="x")]
    state = RevocationState(denials)
    state.apply(denials)
    assert state.seq == 3 and len(state) == 3


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(TokenRefused):
        RevocationState([Denial(1, "owner", "user_1", NOW, NOW + 60)])


def test_prune_drops_the_denials_that_expired() -> None:
    state = RevocationState(
        [
            key_denial(1, NOW),  # expires NOW + 3600
            jti_denial(2, "tok_a", expires_at=NOW + 60),
            jti_denial(3, "tok_b", aud="x", expires_at=NOW + 60),
            jti_denial(4, "tok_b", expires_at=NOW + 120),
        ]
    )
    state.prune(NOW + 90)
    assert len(state) == 2 and state.seq == 4
    assert not state.refuses(claims(jti="tok_a", iat=NOW + 1))
    assert state.refuses(claims(jti="tok_b", iat=NOW + 1))
    state.prune(NOW + 3600)
    assert len(state) == 0
    assert not state.refuses(claims(iat=NOW - 1))


def test_the_second_form_of_an_ecdsa_signature_verifies_and_is_still_denied_by_jti() -> None:
    """ECDSA signatures are malleable: (r, n - s) verifies as well as (r, s), and
    ``cryptography`` accepts both, so one token has two valid texts. Denials are
    keyed on the jti (and key watermarks on sub + iat), never on the token's
    text, so a denied token stays denied in either form."""
    token = signer("ES256").sign(claims())
    head, body, signature = token.split(".")
    raw = b64url_decode(signature)
    s = int.from_bytes(raw[32:], "big")
    other = f"{head}.{body}.{b64url_encode(raw[:32] + (P256_ORDER - s).to_bytes(32, 'big'))}"
    assert other != token
    keys = keys_of(verifying("ES256"))
    first, second = verified(token, keys), verified(other, keys)
    assert first.claims == second.claims
    state = RevocationState([jti_denial(1, first.claims["jti"])])
    assert state.refuses(first.claims) and state.refuses(second.claims)
    watermark = RevocationState([key_denial(1, NOW + 1)])
    assert watermark.refuses(first.claims) and watermark.refuses(second.claims)


def document(**options: Any) -> dict[str, Any]:
    options.setdefault("since", None)
    return document_claims(
        issuer=ISSUER,
        api_id=API_ID,
        denials=[key_denial(4, NOW), jti_denial(5, "tok_a", aud="billing"), jti_denial(9, "b")],
        seq=9,
        issued_at=NOW + 0.5,
        **options,
    )


def test_a_revocation_document_round_trips() -> None:
    made = document()
    assert made["iss"] == ISSUER and made["api_id"] == API_ID
    assert (made["iat"], made["exp"]) == (int(NOW), int(NOW) + 60)
    assert made["denials"][1] == {
        "seq": 5,
        "kind": "jti",
        "subject": "tok_a",
        "not_before": NOW,
        "expires_at": NOW + 300,
        "aud": "billing",
    }
    assert "aud" not in made["denials"][0]
    seq, since, denials = denials_of_document(made)
    assert (seq, since) == (9, None)
    assert denials == [
        key_denial(4, NOW),
        jti_denial(5, "tok_a", aud="billing"),
        jti_denial(9, "b"),
    ]


def test_a_delta_document_holds_the_denials_after_since() -> None:
    seq, since, denials = denials_of_document(document(since=4))
    assert (seq, since) == (9, 4)
    assert [denial.seq for denial in denials] == [5, 9]
    state = RevocationState([key_denial(4, NOW)])
    state.apply(denials)
    assert state.seq == 9 and state.refuses(claims(jti="b", iat=NOW + 1))
    assert denials_of_document(document(since=9))[2] == []


def entry(**change: Any) -> dict[str, Any]:
    return {**jti_denial(3, "tok_a").to_dict(), **change}


@pytest.mark.parametrize(
    "change",
    [
        {"seq": None},
        {"seq": -1},
        {"seq": "9"},
        {"seq": True},
        {"seq": 8, "since": 9},
        {"since": "1"},
        {"denials": None},
        {"denials": {"seq": 1}},
        {"denials": ["tok_a"]},
        {"denials": [entry(kind="owner")]},
        {"denials": [entry(subject="")]},
        {"denials": [entry(subject=None)]},
        {"denials": [entry(aud=7)]},
        {"denials": [entry(not_before="now")]},
        {"denials": [entry(expires_at=None)]},
        {"denials": [entry(seq=10)]},  # after the document's seq
    ],
)
def test_a_document_of_a_bad_shape_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(TokenRefused) as refused:
        denials_of_document({**document(), **change})
    assert refused.value.reason == "claims"


def test_a_signed_document_verifies_by_its_type_issuer_and_api() -> None:
    text = signer("EdDSA").sign(document(since=4), typ=DOCUMENT_TYPE)
    keys = keys_of(verifying("EdDSA"))
    seq, since, denials = verified_document(text, keys, issuer=ISSUER, api_id=API_ID)
    assert (seq, since, len(denials)) == (9, 4, 2)
    for options, reason in [
        ({"issuer": "https://other"}, "issuer"),
        ({"issuer": ISSUER, "api_id": "api_2"}, "claims"),
    ]:
        with pytest.raises(TokenRefused) as refused:
            verified_document(text, keys, **options)
        assert refused.value.reason == reason
    as_access_token = signer("EdDSA").sign(document())
    with pytest.raises(TokenRefused) as refused:
        verified_document(as_access_token, keys, issuer=ISSUER)
    assert refused.value.reason == "malformed"
    with pytest.raises(TokenRefused) as refused:
        verified(text, keys)  # a document is never taken for an access token
    assert refused.value.reason == "malformed"


def test_a_document_may_be_larger_than_an_access_token() -> None:
    many = [jti_denial(seq, f"tok_{seq:06d}") for seq in range(1, 2001)]
    made = document_claims(
        issuer=ISSUER, api_id=API_ID, denials=many, seq=2000, since=None, issued_at=NOW
    )
    text = signer("EdDSA").sign(made, typ=DOCUMENT_TYPE)
    assert len(text) > 100_000
    assert len(verified_document(text, keys_of(verifying("EdDSA")), issuer=ISSUER)[2]) == 2000
