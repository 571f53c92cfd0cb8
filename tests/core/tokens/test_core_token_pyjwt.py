"""Interoperability with PyJWT, a third-party client: Keystead's tokens verify
with PyJWT through the published JWK, and PyJWT's tokens verify with Keystead."""

from __future__ import annotations

import time

import jwt
import pytest
from _core_tokens_support import API_ID, ISSUER, KID, keys_of, private_of, signer, verifying
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from keystead.core.tokens import (
    TokenRefused,
    VerifyingKey,
    access_token_claims,
    check_claims,
    new_jti,
    public_jwk,
    verified,
)

ASYMMETRIC = ("EdDSA", "ES256", "RS256")


def fresh_claims(now: float) -> dict[str, object]:
    return access_token_claims(
        issuer=ISSUER,
        key_id="key_1",
        api_id=API_ID,
        owner_id=None,
        audience=API_ID,
        permissions=["documents.read", "documents.write"],
        issued_at=now,
        ttl_s=60,
        jti=new_jti(),
    )


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_pyjwt_verifies_a_keystead_token_with_the_published_jwk(algorithm: str) -> None:
    now = time.time()
    claims = fresh_claims(now)
    token = signer(algorithm).sign(claims)
    jwk = public_jwk(algorithm, private_of(algorithm), KID)
    assert jwk is not None
    key = jwt.PyJWK(jwk)
    assert jwt.get_unverified_header(token)["kid"] == key.key_id == KID
    decoded = jwt.decode(token, key, algorithms=[algorithm], audience=API_ID, issuer=ISSUER)
    assert decoded == claims
    assert jwt.PyJWKSet.from_dict({"keys": [jwk]})[KID].algorithm_name == algorithm


def test_pyjwt_verifies_a_keystead_hs256_token_with_the_shared_secret() -> None:
    claims = fresh_claims(time.time())
    token = signer("HS256").sign(claims)
    decoded = jwt.decode(
        token, private_of("HS256"), algorithms=["HS256"], audience=API_ID, issuer=ISSUER
    )
    assert decoded == claims


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_keystead_verifies_a_pyjwt_token(algorithm: str) -> None:
    now = time.time()
    claims = fresh_claims(now)
    pem = serialization.load_der_private_key(private_of(algorithm), None).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    token = jwt.encode(claims, pem, algorithm=algorithm, headers={"kid": KID, "typ": "at+jwt"})
    jwk = public_jwk(algorithm, private_of(algorithm), KID)
    assert jwk is not None
    parsed = verified(token, keys_of(VerifyingKey.from_jwk(jwk)))
    check_claims(parsed.claims, now=now, issuer=ISSUER, audience=API_ID)
    assert parsed.claims == claims


def test_keystead_verifies_a_pyjwt_hs256_token() -> None:
    claims = fresh_claims(time.time())
    token = jwt.encode(
        claims, private_of("HS256"), algorithm="HS256", headers={"kid": KID, "typ": "at+jwt"}
    )
    assert verified(token, keys_of(verifying("HS256"))).claims == claims


def test_a_jwk_pyjwt_exports_loads_in_keystead() -> None:
    public = serialization.load_der_private_key(private_of("ES256"), None).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    exported = jwt.algorithms.ECAlgorithm.to_jwk(public, as_dict=True)
    key = VerifyingKey.from_jwk({**exported, "alg": "ES256", "kid": KID})
    token = signer("ES256").sign(fresh_claims(time.time()))
    assert verified(token, keys_of(key)).kid == KID


def test_pyjwts_alg_none_token_is_refused() -> None:
    token = jwt.encode(
        fresh_claims(time.time()), "", algorithm="none", headers={"kid": KID, "typ": "at+jwt"}
    )
    with pytest.raises(TokenRefused) as refused:
        verified(token, keys_of(verifying("EdDSA")))
    assert refused.value.reason == "algorithm"
