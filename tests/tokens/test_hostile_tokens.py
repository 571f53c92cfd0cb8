"""Tokens an attacker makes from a genuine one, each refused by Keystead's middleware
(401) and by ``POST /oauth/introspect`` (exactly ``{"active": false}``): no
algorithm, HMAC keyed with the public key, the wrong audience, expired, not yet
valid, a tampered payload, an unknown ``kid``, too large, and an ECDSA signature
rewritten into its second valid form after its ``jti`` was revoked."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import httpx
import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from keystead.core.tokens import MAX_TOKEN_BYTES

from .kit import Deployment, Key, b64url, call, minted_at, parts, segment

P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


def refused(deployment: Deployment, resource: str, token: str) -> None:
    answer = call(resource, token)
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert token not in answer.text
    assert deployment.introspect(token) == {"active": False}


def accepted(deployment: Deployment, resource: str, token: str, key: Key) -> None:
    answer = call(resource, token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["key_id"] == key.id
    assert deployment.introspect(token)["active"] is True


@pytest.fixture(scope="module")
def api(deployment: Deployment) -> str:
    return deployment.new_api({"audiences": ["reports-service"]})


@pytest.fixture(scope="module")
def key(deployment: Deployment, api: str) -> Key:
    return deployment.new_key(api)


@pytest.fixture(scope="module")
def genuine(deployment: Deployment, key: Key) -> str:
    return str(deployment.exchange(key)["token"])


def test_the_genuine_token_gets_through(
    deployment: Deployment, resource: str, key: Key, genuine: str
) -> None:
    accepted(deployment, resource, genuine, key)


def test_alg_none(deployment: Deployment, resource: str, genuine: str) -> None:
    header, claims, _ = parts(genuine)
    for alg in ("none", "None", "NONE"):
        unsigned = f"{segment({**header, 'alg': alg})}.{segment(claims)}."
        refused(deployment, resource, unsigned)


@pytest.mark.parametrize("algorithm", ["ES256", "RS256", "EdDSA"])
def test_hs256_keyed_with_the_public_key(
    deployment: Deployment, resource: str, algorithm: str
) -> None:
    """The classic confusion: a verifier that takes the algorithm from the header
    would check an HMAC keyed with the key it publishes."""
    api_id = deployment.new_api({"algorithm": algorithm})
    key = deployment.new_key(api_id)
    token = deployment.exchange(key)["token"]
    header, claims, _ = parts(token)
    (jwk,) = httpx.get(deployment.jwks_url(api_id)).json()["keys"]
    public = jwt.PyJWK(jwk).key
    secrets_tried = [
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        httpx.get(deployment.jwks_url(api_id)).content,
    ]
    for secret in secrets_tried:
        signing_input = f"{segment({**header, 'alg': 'HS256'})}.{segment(claims)}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        refused(deployment, resource, f"{signing_input}.{b64url(mac)}")


def test_wrong_audience(deployment: Deployment, resource: str, key: Key) -> None:
    """Signed and live, but for another resource server (an audience the policy
    allows): the middleware, which expects the API id, refuses it. Introspection
    says it is active and names its ``aud``: RFC 7662 leaves that check to the
    resource server."""
    token = deployment.exchange(key, audience="reports-service")["token"]
    answer = call(resource, token)
    assert answer.status_code == 401, answer.text
    introspected = deployment.introspect(token)
    assert introspected["active"] is True and introspected["aud"] == "reports-service"


def test_expired(deployment: Deployment, resource: str, key: Key) -> None:
    token = minted_at(deployment, key, time.time() - 3600, ttl_s=300)
    assert parts(token)[1]["exp"] < time.time() - 3000
    refused(deployment, resource, token)


def test_not_yet_valid(deployment: Deployment, resource: str, key: Key) -> None:
    token = minted_at(deployment, key, time.time() + 3600, ttl_s=300)
    assert parts(token)[1]["nbf"] > time.time() + 3000
    refused(deployment, resource, token)


def test_a_tampered_payload_after_the_genuine_token_was_seen(
    deployment: Deployment, resource: str, key: Key, genuine: str
) -> None:
    """The genuine token is verified (and may be cached by its jti) first; the same
    jti with other claims must not ride on that."""
    accepted(deployment, resource, genuine, key)
    header_part, _, signature_part = genuine.split(".")
    _, claims, _ = parts(genuine)
    for changes in (
        {
            "permissions": ["documents.read", "documents.write"],
            "scope": "documents.read documents.write",
        },
        {"exp": claims["exp"] + 86_400},
        {"sub": "key_01JZ8Q3V6N2X7R4M5T9K0W1B2C", "client_id": "key_01JZ8Q3V6N2X7R4M5T9K0W1B2C"},
    ):
        tampered = f"{header_part}.{segment({**claims, **changes})}.{signature_part}"
        refused(deployment, resource, tampered)
    accepted(deployment, resource, genuine, key)


def test_an_unknown_kid(deployment: Deployment, resource: str, genuine: str) -> None:
    header, claims, signature = parts(genuine)
    for kid in (f"tsk_{secrets.token_hex(8)}", "", "../../etc/passwd"):
        forged = f"{segment({**header, 'kid': kid})}.{segment(claims)}.{b64url(signature)}"
        refused(deployment, resource, forged)
    other_api = deployment.new_api()
    other_kid = deployment.exchange(deployment.new_key(other_api))["kid"]
    foreign = f"{segment({**header, 'kid': other_kid})}.{segment(claims)}.{b64url(signature)}"
    refused(deployment, resource, foreign)


def test_an_oversized_token(deployment: Deployment, resource: str, genuine: str) -> None:
    header, claims, signature = parts(genuine)
    padding = "x" * MAX_TOKEN_BYTES
    big = f"{segment(header)}.{segment({**claims, 'pad': padding})}.{b64url(signature)}"
    assert len(big) > MAX_TOKEN_BYTES
    refused(deployment, resource, big)


def test_an_ecdsa_signature_in_its_second_form_after_the_jti_was_revoked(
    deployment: Deployment, resource: str
) -> None:
    """(r, s) and (r, n - s) are both valid ECDSA signatures of the same input: a
    deny list keyed on the token's text would let the twin through. Keystead keys it
    on the jti."""
    api_id = deployment.new_api({"algorithm": "ES256"})
    key = deployment.new_key(api_id)
    issued = deployment.exchange(key)
    token = issued["token"]
    header_part, payload_part, _ = token.split(".")
    raw = parts(token)[2]
    assert len(raw) == 64  # JOSE: r || s, 32 bytes each
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    twin = f"{header_part}.{payload_part}.{b64url(raw[:32] + (P256_ORDER - s).to_bytes(32, 'big'))}"
    assert twin != token

    (jwk,) = httpx.get(deployment.jwks_url(api_id)).json()["keys"]
    public = jwt.PyJWK(jwk).key
    signing_input = f"{header_part}.{payload_part}".encode()
    for value in (s, P256_ORDER - s):  # both forms verify with the published key
        try:
            public.verify(encode_dss_signature(r, value), signing_input, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:  # pragma: no cover - the premise of the test
            pytest.fail("the rewritten signature does not verify")

    accepted(deployment, resource, token, key)
    call(resource, twin)  # a verifier may take or refuse the high-s form: either is sound
    deployment.revoke_jti(api_id, issued["jti"], parts(token)[1]["exp"])
    refused_soon(deployment, resource, token)
    refused_soon(deployment, resource, twin)


def refused_soon(deployment: Deployment, resource: str, token: str) -> None:
    """Refused once the revocation has reached the verifier (within its bound)."""
    deadline = time.monotonic() + 5
    while call(resource, token).status_code != 401:
        assert time.monotonic() < deadline, "the revoked token is still accepted"
        time.sleep(0.05)
    refused(deployment, resource, token)
