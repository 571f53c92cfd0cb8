"""Signing keys: generation, JWK export and import, signing and verifying."""

from __future__ import annotations

import base64

import pytest
from _core_tokens_support import KID, claims, private_of, signer, verifying
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from keystead.core.tokens import ALGORITHMS, Signer, VerifyingKey, public_jwk
from keystead.core.tokens.keys import b64url_decode, b64url_encode
from keystead.errors import ValidationError

ASYMMETRIC = ("EdDSA", "ES256", "RS256")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_signed_token_verifies_with_the_key_of_the_same_material(algorithm: str) -> None:
    token = signer(algorithm).sign(claims())
    head, body, signature = token.split(".")
    key = verifying(algorithm)
    assert key.algorithm == algorithm and key.kid == KID
    assert key.verify(f"{head}.{body}".encode(), b64url_decode(signature))
    assert not key.verify(f"{head}.{body}x".encode(), b64url_decode(signature))


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_a_token_verifies_with_the_key_of_its_published_jwk(algorithm: str) -> None:
    jwk = public_jwk(algorithm, private_of(algorithm), KID)
    assert jwk is not None
    token = signer(algorithm).sign(claims())
    head, body, signature = token.split(".")
    key = VerifyingKey.from_jwk(jwk)
    assert (key.algorithm, key.kid) == (algorithm, KID)
    assert key.verify(f"{head}.{body}".encode(), b64url_decode(signature))


def test_the_private_material_is_pkcs8_der_or_a_32_byte_secret() -> None:
    loaded = {alg: serialization.load_der_private_key(private_of(alg), None) for alg in ASYMMETRIC}
    assert isinstance(loaded["EdDSA"], ed25519.Ed25519PrivateKey)
    assert isinstance(loaded["ES256"], ec.EllipticCurvePrivateKey)
    assert isinstance(loaded["ES256"].curve, ec.SECP256R1)
    assert isinstance(loaded["RS256"], rsa.RSAPrivateKey)
    assert loaded["RS256"].key_size == 2048
    assert len(private_of("HS256")) == 32


def test_jwks_carry_the_public_parts_only() -> None:
    eddsa = public_jwk("EdDSA", private_of("EdDSA"), KID)
    es256 = public_jwk("ES256", private_of("ES256"), KID)
    rs256 = public_jwk("RS256", private_of("RS256"), KID)
    assert eddsa is not None and es256 is not None and rs256 is not None
    assert set(eddsa) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert (eddsa["kty"], eddsa["crv"], eddsa["use"]) == ("OKP", "Ed25519", "sig")
    assert set(es256) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert len(b64url_decode(es256["x"])) == len(b64url_decode(es256["y"])) == 32
    assert set(rs256) == {"kty", "n", "e", "kid", "alg", "use"}
    assert rs256["e"] == "AQAB"
    for jwk in (eddsa, es256, rs256):
        assert "d" not in jwk and all("=" not in value for value in jwk.values())


def test_an_hs256_secret_is_never_published_nor_taken_from_a_jwk() -> None:
    assert public_jwk("HS256", private_of("HS256"), KID) is None
    secret = b64url_encode(private_of("HS256"))
    with pytest.raises(ValidationError) as refused:
        VerifyingKey.from_jwk({"kty": "oct", "k": secret, "alg": "HS256", "kid": KID})
    assert refused.value.field == "alg"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"alg": None}, "alg"),
        ({"alg": "none"}, "alg"),
        ({"alg": "ES512"}, "alg"),
        ({"alg": "ES256"}, "kty"),  # an Ed25519 key named ES256
        ({"crv": "X25519"}, "kty"),
        ({"use": "enc"}, "use"),
        ({"kid": None}, "kid"),
        ({"kid": 7}, "kid"),
        ({"x": "not base64url!"}, "x"),
        ({"x": "AAAA"}, "jwk"),  # 3 bytes are no Ed25519 key
    ],
)
def test_a_jwk_without_a_usable_alg_or_key_is_refused(
    change: dict[str, object], field: str
) -> None:
    jwk: dict[str, object] = dict(public_jwk("EdDSA", private_of("EdDSA"), KID) or {})
    jwk.update(change)
    jwk = {name: value for name, value in jwk.items() if value is not None}
    with pytest.raises(ValidationError) as refused:
        VerifyingKey.from_jwk(jwk)
    assert refused.value.field == field


def test_an_ec_jwk_off_the_curve_or_an_rsa_jwk_under_2048_bits_is_refused() -> None:
    es256 = dict(public_jwk("ES256", private_of("ES256"), KID) or {})
    y = bytearray(b64url_decode(es256["y"]))
    y[-1] ^= 1
    with pytest.raises(ValidationError):
        VerifyingKey.from_jwk({**es256, "y": b64url_encode(bytes(y))})
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()  # noqa: S505 (refused: the point)
    numbers = small.public_numbers()
    with pytest.raises(ValidationError):
        VerifyingKey.from_jwk(
            {
                "kty": "RSA",
                "alg": "RS256",
                "kid": KID,
                "n": b64url_encode(numbers.n.to_bytes(128, "big")),
                "e": "AQAB",
            }
        )


def test_material_that_does_not_suit_the_algorithm_is_refused() -> None:
    with pytest.raises(ValidationError):
        Signer("ES256", KID, private_of("EdDSA"))
    with pytest.raises(ValidationError):
        VerifyingKey.from_private("RS256", KID, b"not der")
    with pytest.raises(ValidationError):
        Signer("HS256", KID, b"short secret")
    with pytest.raises(ValidationError) as refused:
        Signer("none", KID, b"")
    assert refused.value.field == "algorithm"


def test_an_es256_signature_is_raw_r_and_s() -> None:
    token = signer("ES256").sign(claims())
    assert len(b64url_decode(token.rsplit(".", 1)[1])) == 64


def test_base64url_is_unpadded_and_strict() -> None:
    assert b64url_encode(b"\xfb\xff") == "-_8"
    assert b64url_decode("-_8") == b"\xfb\xff"
    for bad in ("", "-_8=", "a", "a+b/", "ab cd"):
        with pytest.raises(ValueError):
            b64url_decode(bad)
    assert base64.urlsafe_b64decode("-_8=") == b"\xfb\xff"


def test_repr_names_the_key_not_its_material() -> None:
    assert repr(signer("HS256")) == "Signer('HS256', kid='tsk_1')"
    assert repr(verifying("HS256")) == "VerifyingKey('HS256', kid='tsk_1')"
