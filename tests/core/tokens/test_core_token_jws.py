"""JWS parsing and verification: what a verifier refuses, and why."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from _core_tokens_support import KID, claims, keys_of, private_of, signer, verifying
from cryptography.hazmat.primitives import serialization

from keystead.core.tokens import (
    ALGORITHMS,
    MAX_TOKEN_BYTES,
    TokenRefused,
    looks_like_jwt,
    parse,
    verified,
)
from keystead.core.tokens.keys import b64url_decode, b64url_encode


def segment(value: Any) -> str:
    return b64url_encode(orjson.dumps(value))


def forged(header: dict[str, Any], payload: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{segment(header)}.{segment(payload)}"
    return f"{signing_input}.{b64url_encode(sign(signing_input.encode()))}"


def refusal(token: str, *, typ: str | None = "at+jwt", algorithm: str = "EdDSA") -> str:
    with pytest.raises(TokenRefused) as refused:
        verified(token, keys_of(verifying(algorithm)), typ=typ)
    assert "eyJ" not in str(refused.value)  # never echoes the token
    return refused.value.reason


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_signed_token_round_trips(algorithm: str) -> None:
    token = signer(algorithm).sign(claims())
    parsed = verified(token, keys_of(verifying(algorithm)))
    assert parsed.claims == claims()
    assert parsed.header == {"alg": algorithm, "typ": "at+jwt", "kid": KID}
    assert (parsed.alg, parsed.kid) == (algorithm, KID)
    assert parsed == parse(token)
    assert looks_like_jwt(token)


def test_alg_none_is_refused_whatever_the_signature() -> None:
    header = {"alg": "none", "typ": "at+jwt", "kid": KID}
    unsigned = f"{segment(header)}.{segment(claims())}."
    assert refusal(unsigned) == "algorithm"
    assert refusal(unsigned + "AAAA") == "algorithm"
    assert refusal(f"{segment({**header, 'alg': 'None'})}.{segment(claims())}.") == "algorithm"


def test_hs256_signed_with_the_public_key_is_refused() -> None:
    """Algorithm confusion: the attacker knows the public key and signs HS256 with it."""
    public = verifying("EdDSA")
    for encoding, form in [
        (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        (serialization.Encoding.Raw, serialization.PublicFormat.Raw),
    ]:
        key_bytes = (
            serialization.load_der_private_key(private_of("EdDSA"), None)
            .public_key()
            .public_bytes(encoding, form)
        )
        token = forged(
            {"alg": "HS256", "typ": "at+jwt", "kid": KID},
            claims(),
            lambda data, key=key_bytes: hmac.digest(key, data, "sha256"),  # type: ignore[misc]
        )
        with pytest.raises(TokenRefused) as refused:
            verified(token, keys_of(public))
        assert refused.value.reason == "algorithm"


def test_a_header_alg_other_than_the_keys_is_refused_even_if_supported() -> None:
    token = signer("ES256").sign(claims())
    with pytest.raises(TokenRefused) as refused:
        verified(token, keys_of(verifying("EdDSA")))
    assert refused.value.reason == "algorithm"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_tampered_payload_or_signature_is_refused(algorithm: str) -> None:
    head, _, signature = signer(algorithm).sign(claims()).split(".")
    raised = f"{head}.{segment(claims(permissions=['*']))}.{signature}"
    assert refusal(raised, algorithm=algorithm) == "signature"
    flipped = bytearray(b64url_decode(signature))
    flipped[0] ^= 1
    _, body, _ = signer(algorithm).sign(claims()).split(".")
    other = f"{head}.{body}.{b64url_encode(bytes(flipped))}"
    assert refusal(other, algorithm=algorithm) == "signature"
    assert refusal(f"{head}.{body}.", algorithm=algorithm) == "signature"


def test_a_token_of_an_unknown_kid_or_without_one_is_refused() -> None:
    assert refusal(signer("EdDSA", "tsk_other").sign(claims())) in {"unknown_kid", "signature"}
    with pytest.raises(TokenRefused) as refused:
        verified(signer("EdDSA", "tsk_other").sign(claims()), keys_of(verifying("EdDSA")))
    assert refused.value.reason == "unknown_kid"
    no_kid = forged({"alg": "EdDSA", "typ": "at+jwt"}, claims(), lambda data: b"x" * 64)
    assert refusal(no_kid) == "unknown_kid"


def test_the_key_is_found_by_kid_among_several() -> None:
    keys = keys_of(verifying("EdDSA", "tsk_a"), verifying("ES256", "tsk_b"))
    assert verified(signer("ES256", "tsk_b").sign(claims()), keys).kid == "tsk_b"
    assert verified(signer("EdDSA", "tsk_a").sign(claims()), keys).kid == "tsk_a"


def test_a_token_over_the_size_bound_is_refused_before_decoding() -> None:
    big = signer("EdDSA").sign(claims(padding="x" * MAX_TOKEN_BYTES))
    assert refusal(big) == "too_large"
    garbage = "!" * (MAX_TOKEN_BYTES + 1)
    assert refusal(garbage) == "too_large"
    with pytest.raises(TokenRefused) as refused:
        parse(garbage)
    assert refused.value.reason == "too_large"
    assert parse(big, max_bytes=len(big)).claims["padding"] == "x" * MAX_TOKEN_BYTES


GOOD_HEADER = segment({"alg": "EdDSA", "typ": "at+jwt", "kid": KID})
GOOD_BODY = segment(claims())
NAN_BODY = b64url_encode(b'{"exp": NaN}')


@pytest.mark.parametrize(
    "token",
    [
        "",
        "eyJ",
        f"{GOOD_HEADER}.{GOOD_BODY}",  # two segments
        f"{GOOD_HEADER}.{GOOD_BODY}.AAAA.AAAA",  # four (JWE has five)
        f"{GOOD_HEADER}..AAAA",  # empty payload
        f".{GOOD_BODY}.AAAA",
        f"{GOOD_HEADER}.{GOOD_BODY}.AA==",  # padding
        f"{GOOD_HEADER}.{GOOD_BODY}.AA+/",  # standard base64
        f"{GOOD_HEADER} .{GOOD_BODY}.AAAA",
        f"{GOOD_HEADER}.{GOOD_BODY}.A",  # one character over: never base64
        f"{GOOD_HEADER}.{GOOD_BODY}.AB",  # spare bits set: a second spelling of "AA"
        f"{GOOD_HEADER}.{GOOD_BODY}.AAB",
        f"{GOOD_HEADER}.{GOOD_BODY}ü.AAAA",
        f"{segment([1, 2])}.{GOOD_BODY}.AAAA",  # header not an object
        f"{b64url_encode(b'{not json')}.{GOOD_BODY}.AAAA",
        f"{segment('EdDSA')}.{GOOD_BODY}.AAAA",
        f"{segment({'typ': 'at+jwt', 'kid': KID})}.{GOOD_BODY}.AAAA",  # no alg
        f"{segment({'alg': ['EdDSA'], 'typ': 'at+jwt'})}.{GOOD_BODY}.AAAA",
        f"{segment({'alg': 'EdDSA', 'typ': 'at+jwt', 'kid': 1})}.{GOOD_BODY}.AAAA",
        f"{segment({'alg': 'EdDSA', 'typ': 'at+jwt', 'kid': KID, 'crit': ['exp']})}"
        f".{GOOD_BODY}.AAAA",
        f"{segment({'alg': 'EdDSA', 'typ': 'at+jwt', 'kid': KID, 'crit': []})}.{GOOD_BODY}.AAAA",
    ],
)
def test_malformed_tokens_are_refused_as_malformed(token: str) -> None:
    assert refusal(token) == "malformed"
    with pytest.raises(TokenRefused) as refused:
        parse(token)
    assert refused.value.reason == "malformed"


@pytest.mark.parametrize(
    "payload", [b'["sub"]', b"{}x", b'{"exp": NaN}', b'{"exp": 1e999999}', b"\xff"]
)
def test_a_payload_that_is_no_json_object_is_malformed(payload: bytes) -> None:
    """``verified`` decodes the claims only once the signature holds: unsigned
    garbage is refused for its signature, signed garbage as malformed."""
    unsigned = f"{GOOD_HEADER}.{b64url_encode(payload)}.AAAA"
    assert refusal(unsigned) == "signature"
    with pytest.raises(TokenRefused) as refused:
        parse(unsigned)
    assert refused.value.reason == "malformed"
    key = verifying("HS256")
    secret = private_of("HS256")
    header = {"alg": "HS256", "typ": "at+jwt", "kid": KID}
    signing_input = f"{segment(header)}.{b64url_encode(payload)}"
    signature = hmac.digest(secret, signing_input.encode(), "sha256")
    with pytest.raises(TokenRefused) as refused:
        verified(f"{signing_input}.{b64url_encode(signature)}", keys_of(key))
    assert refused.value.reason == "malformed"


def test_a_non_text_token_is_malformed() -> None:
    with pytest.raises(TokenRefused) as refused:
        parse(b"eyJ.eyJ.AA")  # type: ignore[arg-type]
    assert refused.value.reason == "malformed"


def test_the_type_must_be_an_access_tokens_unless_told_otherwise() -> None:
    document = signer("EdDSA").sign(claims(), typ="revocations+jwt")
    assert refusal(document) == "malformed"
    assert verified(document, keys_of(verifying("EdDSA")), typ="revocations+jwt")
    assert verified(document, keys_of(verifying("EdDSA")), typ=None)
    for typ in ("application/at+jwt", "AT+JWT"):
        token = signer("EdDSA").sign(claims(), typ=typ)
        assert verified(token, keys_of(verifying("EdDSA"))).header["typ"] == typ
    untyped = f"{segment({'alg': 'EdDSA', 'kid': KID})}.{GOOD_BODY}.AAAA"
    assert refusal(untyped) == "malformed"


def test_a_duplicated_member_name_takes_the_last_value() -> None:
    """RFC 7515 §4: reject or take the lexically last; the signature covers the text."""
    body = b64url_encode(b'{"sub": "a", "sub": "b"}')
    assert parse(f"{GOOD_HEADER}.{body}.AAAA").claims == {"sub": "b"}


def test_looks_like_jwt_is_a_cheap_hint() -> None:
    assert not looks_like_jwt("ks_live_1234567890")
    assert not looks_like_jwt("eyJhbGciOi")
    assert looks_like_jwt("eyJ.e.")
